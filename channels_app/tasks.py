from celery import shared_task

from channels_app import delivery
from channels_app.queueing import DELIVER_TASK


@shared_task(name=DELIVER_TASK)
def deliver(delivery_ids: str | list[str]) -> None:
    """One delivery's id, or a message's first wave (channels_app.queueing)."""
    delivery.attempt_many([delivery_ids] if isinstance(delivery_ids, str) else delivery_ids)


@shared_task(name="channels_app.sweep_outbox")
def sweep_outbox() -> int:
    return delivery.sweep_outbox()
