from django.contrib import admin, messages

from webhooks import endpoints, replay
from webhooks.inbound import endpoints as inbound_endpoints
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


@admin.register(InboundEndpoint)
class InboundEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "account", "verification", "enabled", "failed_verifications"]
    list_filter = ["verification", "enabled"]
    search_fields = ["id", "name", "account__slug"]
    exclude = ["secret", "token", "token_hash"]
    readonly_fields = ["id", "failed_verifications", "last_failure_reason", "last_failure_at"]
    actions = ["enable", "disable"]

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
