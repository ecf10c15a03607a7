from oneping import queueing

DELIVER_TASK = "channels_app.deliver"


def enqueue(
    delivery_ids: list[str], countdown: float | None = None, retry_of: int | None = None
) -> None:
    """One task per delivery (retries, fallbacks, swept rows)."""
    queueing.enqueue(DELIVER_TASK, delivery_ids, countdown, retry_of)


def enqueue_together(delivery_ids: list[str]) -> None:
    """One task for a message's first wave: one publish, sent side by side by one worker."""
    if delivery_ids:
        queueing.enqueue_together(DELIVER_TASK, delivery_ids)
