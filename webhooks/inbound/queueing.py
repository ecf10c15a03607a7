from oneping import queueing

PROCESS_INBOUND_TASK = "webhooks.process_inbound"


def enqueue(event_ids: list[str]) -> None:
    queueing.enqueue(PROCESS_INBOUND_TASK, event_ids)
