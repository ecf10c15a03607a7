from oneping import queueing

DELIVER_TASK = "channels_app.deliver"


def enqueue(delivery_ids: list[str], countdown: float | None = None) -> None:
    queueing.enqueue(DELIVER_TASK, delivery_ids, countdown)
