from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Channels and deliveries"

    def ready(self) -> None:
        from accounts.dashboard import plan
        from channels_app.dashboard.usage_chart import usage_panel
        from channels_app.models import Delivery, ProviderReport
        from oneping.scrape import Outbox, register_outbox

        # /metrics reports how long the oldest due delivery has waited for a worker.
        status = Delivery.Status
        register_outbox(
            Outbox(
                "deliveries",
                Delivery,
                waiting=(status.QUEUED,),
                retrying=status.RETRYING,
                claimed=status.SENDING,
            )
        )
        report = ProviderReport.Status
        register_outbox(
            Outbox(
                "provider_reports",
                ProviderReport,
                waiting=(report.PENDING,),
                retrying=report.RETRYING,
                claimed=report.APPLYING,
                created_field="received_at",
            )
        )
        # The plan page's usage history (accounts may not import channels_app).
        if usage_panel not in plan.PANELS:
            plan.PANELS.append(usage_panel)
