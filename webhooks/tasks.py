from celery import shared_task

from webhooks import endpoints, sending
from webhooks.inbound import processing
from webhooks.inbound.queueing import PROCESS_INBOUND_TASK
from webhooks.queueing import SEND_WEBHOOK_TASK


@shared_task(name=SEND_WEBHOOK_TASK)
def send_webhook(webhook_delivery_ids: str | list[str], retry_of: int | None = None) -> None:
    """One webhook delivery's id, or an event's receivers (webhooks.queueing); under a
    backlog, a batch of other pending webhook deliveries with them (sending.BATCH)."""
    ids = [webhook_delivery_ids] if isinstance(webhook_delivery_ids, str) else webhook_delivery_ids
    sending.attempt_many(ids, more=max(0, sending.BATCH - len(ids)), retry_of=retry_of)


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    return sending.sweep()


@shared_task(name="webhooks.auto_disable")
def auto_disable() -> int:
    return endpoints.auto_disable()


@shared_task(name=PROCESS_INBOUND_TASK)
def process_inbound(inbound_event_id: str) -> None:
    processing.process(inbound_event_id)


@shared_task(name="webhooks.sweep_inbound")
def sweep_inbound() -> int:
    return processing.sweep()
