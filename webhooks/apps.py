from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # channels_app announces status changes; it never imports webhooks (see STYLE.md).
        from channels_app.signals import delivery_status_changed
        from webhooks.events import on_delivery_status_changed

        delivery_status_changed.connect(
            on_delivery_status_changed, dispatch_uid="webhooks.delivery_events"
        )

        # accounts announces quota warnings the same way (accounts.quota_warnings).
        from accounts.signals import quota_warning
        from webhooks.events import on_quota_warning

        quota_warning.connect(on_quota_warning, dispatch_uid="webhooks.quota_warning_events")

        from oneping.scrape import Outbox, register_outbox
        from webhooks.models import InboundEvent, WebhookDelivery

        # /metrics reports how long the oldest due row of each outbox has waited.
        outgoing, inbound = WebhookDelivery.Status, InboundEvent.Status
        register_outbox(
            Outbox(
                "webhook_deliveries",
                WebhookDelivery,
                waiting=(outgoing.PENDING,),
                retrying=outgoing.RETRYING,
                claimed=outgoing.SENDING,
            )
        )
        register_outbox(
            Outbox(
                "inbound_events",
                InboundEvent,
                waiting=(inbound.RECEIVED,),
                claimed=inbound.PROCESSING,
                created_field="received_at",
            )
        )
