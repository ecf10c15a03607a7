import re
from typing import Any

from django import forms
from django.contrib import admin, messages

from accounts.limits import LimitReached, ensure_room
from webhooks import endpoints, replay
from webhooks.inbound import endpoints as inbound_endpoints
from webhooks.inbound import validation
from webhooks.models import (
    Event,
    InboundEndpoint,
    InboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "url", "enabled", "disabled_reason", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["id", "url", "account__slug"]
    exclude = ["secret", "previous_secret"]
    readonly_fields = ["id", "failing_since", "previous_secret_expires_at", "created_at"]
    actions = ["enable", "disable"]

    # Through the same services as the API and the dashboard: enabling forgets the old
    # failures and sends what was kept waiting.
    @admin.action(description="Enable selected endpoints", permissions=["change"])
    def enable(self, request, queryset):
        for endpoint in queryset.filter(enabled=False):
            endpoints.enable(endpoint)
        self.message_user(request, "Enabled.", messages.SUCCESS)

    @admin.action(description="Disable selected endpoints", permissions=["change"])
    def disable(self, request, queryset):
        for endpoint in queryset.filter(enabled=True):
            endpoints.disable(endpoint, f"Disabled by {request.user} in the admin.")
        self.message_user(request, "Disabled.", messages.SUCCESS)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "type", "message", "sequence", "created_at"]
    list_filter = ["type"]
    search_fields = ["id", "message__id", "account__slug"]
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "last_status_code"]
    list_filter = ["status", "trigger"]
    search_fields = ["id", "event__id", "endpoint__url"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    @admin.action(
        description="Reprocess selected failed webhook deliveries", permissions=["change"]
    )
    def reprocess(self, request, queryset):
        queued = replay.resend(list(queryset.filter(status=WebhookDelivery.Status.FAILED)))
        self.message_user(request, f"Queued {queued} webhook deliveries again.", messages.SUCCESS)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = ["at", "event", "url", "status_code", "duration_ms", "trigger"]
    list_filter = ["trigger", "status_code"]
    readonly_fields = [f.name for f in WebhookAttempt._meta.fields]

    def has_add_permission(self, request):
        return False


class InboundEndpointAdminForm(forms.ModelForm):
    """The admin's raw JSON goes through the API's checks (validation.clean_fields): a
    typo in a rule, a network or the hmac description is an error on its field, not a
    row the API would have refused."""

    class Meta:
        model = InboundEndpoint
        # Not the secret or the URL token: shown once to the customer, never to staff.
        fields = [
            "account",
            "name",
            "verification",
            "signature_header",
            "hmac",
            "token_prefix",
            "rules",
            "rule_mode",
            "event_type_from",
            "allowed_ips",
            "enabled",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        adding = self.instance._state.adding
        # As the API's PATCH: the fields changed here (all of them for a new endpoint).
        given = {
            name: cleaned[name]
            for name in (cleaned if adding else self.changed_data)
            if name in cleaned and name != "account"
        }
        account = cleaned.get("account") if adding else self.instance.account
        if account is None:
            return cleaned
        try:
            given = validation.clean_fields(given, None if adding else self.instance, account)
            if adding:  # the service would refuse it; said here, where the form can show it
                ensure_room(
                    account,
                    "inbound_endpoints",
                    InboundEndpoint.objects.filter(account=account),
                )
        except validation.InvalidField as exc:
            field = re.split(r"[.\[]", exc.path, maxsplit=1)[0]
            text = exc.message if field == exc.path else f"{exc.path}: {exc.message}"
            self.add_error(field if field in self.fields else None, text)
        except LimitReached as exc:
            self.add_error("account", exc.message)
        else:
            cleaned.update(given)
            self.validated = given
        return cleaned


@admin.register(InboundEndpoint)
class InboundEndpointAdmin(admin.ModelAdmin):
    form = InboundEndpointAdminForm
    list_display = ["id", "name", "account", "verification", "enabled", "failed_verifications"]
    list_filter = ["verification", "enabled"]
    search_fields = ["id", "name", "account__slug"]
    exclude = ["secret", "token", "token_hash"]
    readonly_fields = ["id", "failed_verifications", "last_failure_reason", "last_failure_at"]
    actions = ["enable", "disable"]

    def get_readonly_fields(self, request, obj: InboundEndpoint | None = None) -> list[str]:
        # Its events, rules and channels belong to its account: an endpoint never moves.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "account"] if obj is not None else fields

    def save_model(self, request, obj: InboundEndpoint, form, change: bool) -> None:
        # Through the service, as the API and the dashboard save: an update writes only the
        # changed fields (receiving may have moved the failure counter meanwhile).
        if change:
            inbound_endpoints.update(obj, **form.validated)
            return
        created = inbound_endpoints.create(form.cleaned_data["account"], **form.validated)
        # The admin goes on with `obj` (its log entry, the redirect): it becomes the row.
        vars(obj).update(vars(created))

    @admin.action(description="Enable selected inbound endpoints", permissions=["change"])
    def enable(self, request, queryset):
        for endpoint in queryset.filter(enabled=False):
            inbound_endpoints.set_enabled(endpoint, True)

    @admin.action(description="Disable selected inbound endpoints", permissions=["change"])
    def disable(self, request, queryset):
        for endpoint in queryset.filter(enabled=True):
            inbound_endpoints.set_enabled(endpoint, False)


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ["id", "endpoint", "event_type", "status", "error", "received_at"]
    list_filter = ["status"]
    search_fields = ["id", "event_type", "dedup_key", "account__slug"]
    readonly_fields = [f.name for f in InboundEvent._meta.fields if f.name != "body"] + ["payload"]
    exclude = ["body"]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Raw body")
    def payload(self, event: InboundEvent) -> str:
        return bytes(event.body).decode("utf-8", errors="replace")

    @admin.action(description="Reprocess selected failed inbound events", permissions=["change"])
    def reprocess(self, request, queryset):
        queued = inbound_endpoints.reprocess(queryset)
        self.message_user(request, f"Queued {queued} inbound events again.", messages.SUCCESS)
