from django.contrib import admin, messages

from webhooks import sending
from webhooks.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "url", "enabled", "disabled_reason", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["id", "url", "account__slug"]
    exclude = ["secret", "previous_secret"]
    readonly_fields = ["id", "failing_since", "previous_secret_expires_at", "created_at"]
    actions = ["enable", "disable"]

    @admin.action(description="Enable selected endpoints")
    def enable(self, request, queryset):
        for endpoint in queryset.filter(enabled=False):
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                enabled=True, disabled_reason="", failing_since=None
            )
            sending.resume(endpoint)
        self.message_user(request, "Enabled.", messages.SUCCESS)

    @admin.action(description="Disable selected endpoints")
    def disable(self, request, queryset):
        for endpoint in queryset.filter(enabled=True):
            sending.disable(endpoint, f"Disabled by {request.user} in the admin.")
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

    @admin.action(description="Reprocess selected failed webhook deliveries")
    def reprocess(self, request, queryset):
        queued = sending.resend(list(queryset.filter(status=WebhookDelivery.Status.FAILED)))
        self.message_user(request, f"Queued {queued} webhook deliveries again.", messages.SUCCESS)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(admin.ModelAdmin):
    list_display = ["at", "event", "url", "status_code", "duration_ms", "trigger"]
    list_filter = ["trigger", "status_code"]
    readonly_fields = [f.name for f in WebhookAttempt._meta.fields]

    def has_add_permission(self, request):
        return False
