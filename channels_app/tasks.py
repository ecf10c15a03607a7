from celery import shared_task

from channels_app.delivery import DELIVERIES
from channels_app.queueing import DELIVER_TASK


@shared_task(name=DELIVER_TASK)
def deliver(ids: list[str], retry_of: int | None = None) -> None:
    """Deliveries by id: a message's first wave (channels_app.queueing), or one delivery
    (a retry, a fallback, a swept row); under a backlog the worker claims a batch of other
    queued deliveries with them. `retry_of`: set on a retry's countdown task
    (oneping.queueing.SCHEDULED_EARLY). A bare id, as tasks carried before, still works."""
    DELIVERIES.run_task(ids, retry_of)


@shared_task(name="channels_app.sweep_outbox")
def sweep_outbox() -> int:
    return DELIVERIES.sweep()
