from django.contrib import admin, messages

from channels_app import delivery as delivery_service
from channels_app import suppressions
from channels_app.callbacks import processing as report_processing
from channels_app.models import (
    ChannelConfig,
    Contact,
    Delivery,
    Message,
    ProviderReport,
    Suppression,
    TimelineEntry,
)
from oneping.errors import ServiceError


@admin.register(ChannelConfig)
class ChannelConfigAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "kind", "unpaced", "created_at", "updated_at"]
    list_filter = ["kind", "unpaced"]
    search_fields = ["id", "account__name", "account__slug"]
    # The config holds secrets: the admin shows that it exists, not what it says. The
    # one editable field is the operator's `unpaced` (channels_app.pacing): the API never
    # accepts it, as it lifts the provider's published rates.
    exclude = ["config"]
    readonly_fields = ["id", "account", "kind", "created_at", "updated_at"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["identifier", "name", "account", "created_at"]
    search_fields = ["identifier", "name", "account__slug"]
    exclude = ["addresses"]
    readonly_fields = ["id", "created_at", "updated_at"]


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    can_delete = False
    readonly_fields = ["status", "at", "attempt", "detail"]

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ["id", "channel", "address", "status", "attempts", "last_error"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "recipient", "status", "is_channel_test", "created_at"]
    list_filter = ["status", "is_channel_test"]
    search_fields = ["id", "recipient", "account__slug"]
    readonly_fields = [f.name for f in Message._meta.fields]
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "channel", "status", "attempts", "last_error", "updated_at"]
    list_filter = ["status", "channel"]
    search_fields = ["id", "message__id", "account__slug", "provider_message_id"]
    exclude = ["target"]
    readonly_fields = [f.name for f in Delivery._meta.fields if f.name != "target"]
    inlines = [TimelineInline]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Reprocess selected failed deliveries", permissions=["change"])
    def reprocess(self, request, queryset):
        queued = 0
        for delivery in queryset.filter(status__in=Delivery.ENDED_FAILED):
            try:
                delivery_service.retry_failed(delivery)
            except ServiceError:
                continue  # changed state since the page was shown
            queued += 1
        self.message_user(request, f"Queued {queued} deliveries again.", messages.SUCCESS)


@admin.register(ProviderReport)
class ProviderReportAdmin(admin.ModelAdmin):
    """Status reports providers sent (stored before they are applied); read-only."""

    list_display = [
        "id",
        "account",
        "provider",
        "provider_status",
        "provider_message_id",
        "status",
        "error",
        "received_at",
    ]
    list_filter = ["status", "provider", "reported_status"]
    search_fields = ["id", "provider_message_id", "dedup_key", "account__slug"]
    readonly_fields = [f.name for f in ProviderReport._meta.fields]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # Through the same service as everything else: a fresh set of attempts, on the worker.
    @admin.action(description="Reprocess selected failed reports", permissions=["change"])
    def reprocess(self, request, queryset):
        queued = report_processing.reprocess(
            list(queryset.filter(status=ProviderReport.Status.FAILED))
        )
        self.message_user(request, f"Queued {queued} reports again.", messages.SUCCESS)


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Every account's suppressed addresses; read-only, lifted only through the service
    (the same as the API's DELETE and the dashboard's Lift)."""

    list_display = ["id", "account", "channel", "address", "reason", "created_at"]
    list_filter = ["channel", "reason"]
    search_fields = ["id", "address", "account__slug", "delivery__id"]
    readonly_fields = [f.name for f in Suppression._meta.fields]
    actions = ["lift"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the lift action is the one way out

    @admin.action(description="Lift selected suppressions", permissions=["change"])
    def lift(self, request, queryset):
        lifted = 0
        for suppression in queryset:
            suppressions.lift(suppression)
            lifted += 1
        self.message_user(request, f"Lifted {lifted} suppressions.", messages.SUCCESS)
