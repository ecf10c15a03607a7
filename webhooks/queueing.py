from oneping import queueing

SEND_WEBHOOK_TASK = "webhooks.send_webhook"


def enqueue(webhook_delivery_ids: list[str], countdown: float | None = None) -> None:
    queueing.enqueue(SEND_WEBHOOK_TASK, webhook_delivery_ids, countdown)
