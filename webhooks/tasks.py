from celery import shared_task

from webhooks import endpoints
from webhooks.inbound.processing import INBOUND
from webhooks.inbound.queueing import PROCESS_INBOUND_TASK
from webhooks.queueing import SEND_WEBHOOK_TASK
from webhooks.sending import WEBHOOKS


@shared_task(name=SEND_WEBHOOK_TASK)
def send_webhook(ids: list[str], retry_of: int | None = None) -> None:
    """Webhook deliveries by id: an event's receivers (webhooks.queueing), or one (a retry,
    a swept row); under a backlog the worker claims a batch of other pending ones with them.
    `retry_of`: set on a retry's countdown task. A bare id, as tasks carried before, still
    works."""
    WEBHOOKS.run_task(ids, retry_of)


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    return WEBHOOKS.sweep()


@shared_task(name="webhooks.auto_disable")
def auto_disable() -> int:
    return endpoints.auto_disable()


@shared_task(name=PROCESS_INBOUND_TASK)
def process_inbound(ids: list[str], retry_of: int | None = None) -> None:
    """Inbound events by id, each claimed and processed on its own. The same shape as the
    other outbox tasks; `retry_of` stays unset (a failed event is a dead letter, not
    retried), and a bare id, as this task carried before, still works."""
    INBOUND.run_task(ids, retry_of)


@shared_task(name="webhooks.sweep_inbound")
def sweep_inbound() -> int:
    return INBOUND.sweep()
