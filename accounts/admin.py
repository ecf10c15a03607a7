from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html

from accounts import api_keys, invitations, services
from accounts.billing import processing
from accounts.limits import PLAN_LIMITS
from accounts.models import (
    Account,
    ApiKey,
    Invitation,
    Membership,
    MonthlyUsage,
    Plan,
    StripeEvent,
    User,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


# A plan's limits: the fields a zero would make refuse everything.
LIMIT_FIELDS = ("monthly_quota", "api_requests_per_minute", *PLAN_LIMITS.values())


class PlanForm(forms.ModelForm):
    """Plans are data (accounts.limits reads every cap from here), so a typo is a product
    change: refuse the ones that would lock customers out or break the price."""

    class Meta:
        model = Plan
        fields = [
            "name",
            "display_name",
            "public",
            "price_amount",
            "price_currency",
            "stripe_price_id",
            *LIMIT_FIELDS,
        ]

    def clean_price_currency(self) -> str:
        currency = self.cleaned_data["price_currency"].strip().lower()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError("A three-letter ISO 4217 code, e.g. usd.")
        return currency

    def clean_stripe_price_id(self) -> str:
        price_id = self.cleaned_data["stripe_price_id"].strip()
        if price_id and not price_id.startswith("price_"):
            raise forms.ValidationError("A Stripe price id starts with price_.")
        return price_id

    def clean(self) -> dict:
        cleaned = super().clean()
        # Zero would refuse every request, key or member of every account on the plan.
        for field in LIMIT_FIELDS:
            if cleaned.get(field) == 0:
                self.add_error(field, "Must be at least 1.")
        return cleaned


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Changes apply at once: every cap is read from the plan when it is checked."""

    form = PlanForm
    list_display = [
        "name",
        "display_name",
        "price_amount",
        "price_currency",
        *LIMIT_FIELDS,
        "public",
    ]
    list_filter = ["public"]
    fieldsets = [
        (None, {"fields": ["name", "display_name", "public"]}),
        ("Price", {"fields": ["price_amount", "price_currency", "stripe_price_id"]}),
        ("Quota and rate", {"fields": ["monthly_quota", "api_requests_per_minute"]}),
        (
            "Caps (per environment: a test environment counts apart)",
            {"fields": list(PLAN_LIMITS.values())},
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The name is the API's stable code and the STRIPE_PRICE_<NAME> setting's suffix.
        return ["name"] if obj is not None else []


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class LivemodeFilter(admin.SimpleListFilter):
    """Live accounts unless asked: each account's test environment (accounts.environments)
    is a row of its own, and listing both would show every customer twice."""

    title = "mode"
    parameter_name = "livemode"
    LIVE, TEST, ALL = "live", "test", "all"

    def lookups(self, request, model_admin):
        return [(self.LIVE, "Live accounts"), (self.TEST, "Test environments"), (self.ALL, "All")]

    def choices(self, changelist):
        # No "All" of Django's own: no parameter means live accounts, so that is selected.
        for value, title in self.lookup_choices:
            yield {
                "selected": (self.value() or self.LIVE) == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or self.LIVE
        if value == self.ALL:
            return queryset
        return queryset.filter(livemode=value == self.LIVE)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "plan", "livemode", "created_at"]
    list_filter = [LivemodeFilter, "plan"]
    list_editable = ["plan"]
    search_fields = ["name", "slug", "id"]
    readonly_fields = [
        "id",
        "livemode",
        "environment",
        "created_at",
        # Billing state is Stripe's (accounts/billing/): shown, changed only by its events.
        "stripe_customer_id",
        "stripe_subscription_id",
        "subscription_status",
        "subscription_cancel_at",
        "payment_problem",
    ]
    inlines = [MembershipInline]

    @admin.display(description="Environment")
    def environment(self, account: Account) -> str:
        """The link between an account and its test environment, both ways."""
        if account.pk is None:
            return "—"
        if not account.livemode:
            return _change_link(account.live_account, "Live account: ")
        test = Account.objects.filter(live_account=account).first()
        if test is None:
            return "No test environment yet (made on first use of test mode)."
        return _change_link(test, "Test environment: ")

    def get_readonly_fields(self, request, obj=None):
        # A test environment mirrors its live account: edit that one.
        if obj is not None and not obj.livemode:
            return [*self.readonly_fields, "name", "slug", "plan"]
        return self.readonly_fields

    def get_inlines(self, request, obj):
        # People are members of the live account only.
        if obj is not None and not obj.livemode:
            return []
        return super().get_inlines(request, obj)

    def save_model(self, request, obj, form, change):
        plan = obj.plan
        if change and "plan" in form.changed_data:
            # A plan change goes through the service, as billing's webhooks change plans.
            obj.plan_id = form.initial["plan"]
            super().save_model(request, obj, form, change)
            services.change_plan(obj, plan)
            return
        super().save_model(request, obj, form, change)

    # livemode and live_account are not editable: an account made here is live, and its
    # test environment is made by accounts.environments on first use, never by hand. A
    # plan change carries over to the test environment (environments.follow_plan, on save).

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        # Role changes and removals go through the team service, as in the dashboard: it
        # keeps an owner and revokes the API keys of whoever is removed or demoted.
        formset.save(commit=False)
        revoked: list[ApiKey] = []
        try:
            for membership in formset.deleted_objects:
                revoked += invitations.remove_member(membership)
            for membership, changed in formset.changed_objects:
                if "role" in changed:
                    current = Membership.objects.get(pk=membership.pk)
                    revoked += invitations.change_role(current, membership.role)
                    changed = [field for field in changed if field != "role"]
                if changed:
                    membership.save(update_fields=changed)
        except invitations.TeamError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        for membership in formset.new_objects:
            membership.save()
        if revoked:
            names = ", ".join(f"{key.name} ({key.prefix}…)" for key in revoked)
            self.message_user(request, f"Revoked API keys: {names}.", messages.WARNING)


def _change_link(account: Account, label: str) -> str:
    url = reverse("admin:accounts_account_change", args=[quote(account.pk)])
    return format_html('{}<a href="{}">{}</a> ({})', label, url, account, account.pk)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "account",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "account__livemode"]
    search_fields = ["name", "prefix", "account__name", "account__slug"]
    # Scopes are fixed at issue time, like the key itself: to change them, issue a new key.
    readonly_fields = [
        "id",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
        "created_by_user",
        "created_by_key",
    ]
    fields = [
        "id",
        "account",
        "name",
        "prefix",
        "scopes",
        "created_by_user",
        "created_by_key",
        "created_at",
        "last_used_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Keys are issued where the raw key can be shown once: the dashboard or the command.
        return False

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_keys.revoke_key(api_key)


@admin.register(MonthlyUsage)
class MonthlyUsageAdmin(admin.ModelAdmin):
    list_display = ["account", "period_start", "used", "warned_percent", "plan_name", "plan_limit"]
    list_filter = ["period_start"]
    search_fields = ["account__name", "account__slug"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "account", "role", "invited_by", "created_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "account__slug"]
    exclude = ["token_hash"]
    readonly_fields = ["id", "created_at", "accepted_at"]


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """Stripe's webhook events as received (accounts/billing/): what each did or why not."""

    list_display = ["stripe_id", "type", "account", "received_at", "processed_at", "error"]
    list_filter = ["type"]
    search_fields = ["stripe_id", "type", "account__slug", "account__id"]
    readonly_fields = [f.name for f in StripeEvent._meta.fields]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Reprocess selected Stripe events", permissions=["change"])
    def reprocess(self, request, queryset):
        queued = processing.reprocess(queryset)
        self.message_user(request, f"Queued {queued} Stripe events again.", messages.SUCCESS)
