from celery import shared_task

from channels_app import delivery
from channels_app.queueing import DELIVER_TASK


@shared_task(name=DELIVER_TASK)
def deliver(delivery_ids: str | list[str], retry_of: int | None = None) -> None:
    """One delivery's id, or a message's first wave (channels_app.queueing); under a
    backlog, a batch of other queued deliveries with them (delivery.BATCH). `retry_of`:
    set on a retry's countdown task (oneping.queueing.SCHEDULED_EARLY)."""
    ids = [delivery_ids] if isinstance(delivery_ids, str) else delivery_ids
    delivery.attempt_many(ids, more=max(0, delivery.BATCH - len(ids)), retry_of=retry_of)


@shared_task(name="channels_app.sweep_outbox")
def sweep_outbox() -> int:
    return delivery.sweep_outbox()
