from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import environments
from accounts.environments import MODES
from accounts.limits import plan_limits
from accounts.models import Account, ApiKey, Plan
from accounts.scopes import ALL_SCOPES, normalize
from accounts.usage import usage_for


class LivemodeField(serializers.BooleanField):
    """`livemode` on every API object (Stripe's convention): false for the objects of an
    account's test environment (accounts.environments). Every object an API request shows
    belongs to the caller's environment, so the request says it without a query."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "false for an object of the test environment (made with an op_test_ key or in "
            "the dashboard's test mode), true otherwise.",
        )
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, instance) -> bool:
        if isinstance(instance, Account):
            return instance.livemode
        # An attempt has no account of its own: its event's.
        account_id = getattr(instance, "account_id", None) or instance.event.account_id
        request = self.context.get("request")
        account = getattr(request, "account", None) if request is not None else None
        if account is not None and account.pk == account_id:
            return bool(account.livemode)
        return environments.is_live(account_id)


class PriceSerializer(serializers.Serializer):
    amount = serializers.IntegerField(help_text="Per month, in cents (0 for free).")
    currency = serializers.CharField(help_text="ISO 4217, lower case, e.g. usd.")


class PlanLimitsSerializer(serializers.Serializer):
    api_requests_per_minute = serializers.IntegerField()
    webhook_endpoints = serializers.IntegerField()
    inbound_endpoints = serializers.IntegerField()
    api_keys = serializers.IntegerField(help_text="Active keys, live and test counted apart.")
    members = serializers.IntegerField(help_text="Members and pending invitations.")


class PlanSerializer(serializers.ModelSerializer):
    """A plan: its price and limits (GET /plans, and the account's plan in GET /account)."""

    price = serializers.SerializerMethodField()
    limits = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = ["name", "display_name", "price", "monthly_quota", "limits"]

    @extend_schema_field(PriceSerializer)
    def get_price(self, plan: Plan) -> dict:
        return {"amount": plan.price_amount, "currency": plan.price_currency}

    @extend_schema_field(PlanLimitsSerializer)
    def get_limits(self, plan: Plan) -> dict:
        return plan_limits(plan)


class UsageSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    used = serializers.IntegerField()
    limit = serializers.IntegerField()
    remaining = serializers.IntegerField()


class BillingStateSerializer(serializers.Serializer):
    """The live account's subscription as Stripe last told us (accounts/billing/)."""

    subscription_status = serializers.CharField(
        help_text="Stripe's status: active, trialing, past_due, canceled…; empty: none."
    )
    cancel_at = serializers.DateTimeField(
        source="subscription_cancel_at",
        allow_null=True,
        help_text="When a subscription set to cancel ends (then the account moves to free).",
    )
    payment_problem = serializers.BooleanField(
        help_text="A payment failed: update the card in the billing portal."
    )


class AccountSerializer(serializers.ModelSerializer):
    """The account; with a test key, the same account (its id, name and slug) seen from its
    test environment: livemode false, and usage against the test mode's daily cap."""

    livemode = LivemodeField()
    plan = PlanSerializer()
    usage = serializers.SerializerMethodField()
    billing = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["id", "livemode", "name", "slug", "created_at", "plan", "usage", "billing"]

    def to_representation(self, account: Account) -> dict:
        data = super().to_representation(account)
        if not account.livemode:
            live = environments.live_account(account)
            data.update(id=live.pk, name=live.name, slug=live.slug)
            data["created_at"] = serializers.DateTimeField().to_representation(live.created_at)
        return data

    @extend_schema_field(UsageSerializer)
    def get_usage(self, account: Account) -> dict:
        return UsageSerializer(usage_for(account)).data

    @extend_schema_field(BillingStateSerializer)
    def get_billing(self, account: Account) -> dict:
        # Billing belongs to the live account, whichever environment asks.
        return BillingStateSerializer(environments.live_account(account)).data


class ApiKeySerializer(serializers.ModelSerializer):
    livemode = LivemodeField()
    revoked = serializers.SerializerMethodField()
    mode = serializers.ChoiceField(
        choices=MODES,
        required=False,
        write_only=True,
        help_text="`live` (an op_live_ key) or `test` (an op_test_ key, acting in the "
        "account's test environment). Defaults to the creating key's own mode; a test key "
        "cannot create live keys.",
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_SCOPES),
        allow_empty=False,
        required=False,
        help_text="Any of `send` (send, re-send, read messages), `read` (every GET that "
        "reveals no secret), `admin` (every other write, and secrets). On create, defaults "
        "to the scopes of the key that creates it; a key never grants a scope it lacks.",
    )
    created_by_user = serializers.EmailField(
        source="created_by_user.email",
        read_only=True,
        allow_null=True,
        help_text="The person who created the key in the dashboard, if any.",
    )
    created_by_key = serializers.CharField(
        source="created_by_key_id",
        read_only=True,
        allow_null=True,
        help_text="The id of the API key that created this one, if any.",
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "livemode",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "created_by_user",
            "created_by_key",
            "last_used_at",
            "revoked",
            "revoked_at",
            "mode",
        ]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_revoked(self, api_key: ApiKey) -> bool:
        return api_key.revoked_at is not None

    def to_representation(self, api_key: ApiKey) -> dict:
        data = super().to_representation(api_key)
        data["scopes"] = normalize(data["scopes"])
        return data


class NewApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown only once.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
