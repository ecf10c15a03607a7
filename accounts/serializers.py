from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account, ApiKey, Plan
from accounts.scopes import ALL_SCOPES, normalize
from accounts.usage import usage_for


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["name", "monthly_quota"]


class UsageSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    used = serializers.IntegerField()
    limit = serializers.IntegerField()
    remaining = serializers.IntegerField()


class AccountSerializer(serializers.ModelSerializer):
    plan = PlanSerializer()
    usage = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["id", "name", "slug", "created_at", "plan", "usage"]

    @extend_schema_field(UsageSerializer)
    def get_usage(self, account: Account) -> dict:
        return UsageSerializer(usage_for(account)).data


class ApiKeySerializer(serializers.ModelSerializer):
    revoked = serializers.SerializerMethodField()
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
            "name",
            "prefix",
            "scopes",
            "created_at",
            "created_by_user",
            "created_by_key",
            "last_used_at",
            "revoked",
            "revoked_at",
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
