from oneping import queueing

SEND_WEBHOOK_TASK = "webhooks.send_webhook"


def enqueue(
    webhook_delivery_ids: list[str], countdown: float | None = None, retry_of: int | None = None
) -> None:
    queueing.enqueue(SEND_WEBHOOK_TASK, webhook_delivery_ids, countdown, retry_of)


def enqueue_together(webhook_delivery_ids: list[str]) -> None:
    """One task for the receivers of newly created events: sent side by side."""
    if webhook_delivery_ids:
        queueing.enqueue_together(SEND_WEBHOOK_TASK, webhook_delivery_ids)
