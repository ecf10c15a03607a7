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
