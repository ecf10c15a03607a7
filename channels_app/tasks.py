from celery import shared_task

from channels_app import delivery
from channels_app.queueing import DELIVER_TASK


@shared_task(name=DELIVER_TASK)
def deliver(delivery_id: str) -> None:
    delivery.attempt(delivery_id)


@shared_task(name="channels_app.sweep_outbox")
def sweep_outbox() -> int:
    return delivery.sweep_outbox()
