from dataclasses import dataclass

from channels_app import rollup
from channels_app.models import Delivery, Message, TimelineEntry
from channels_app.signals import delivery_status_changed

DETAIL_LIMIT = 2048


@dataclass(frozen=True)
class Change:
    """A delivery that just took `status`, with what the timeline should say about it."""

    delivery: Delivery
    status: str
    detail: str = ""
    attempt: int | None = None


def record(
    delivery: Delivery, status: str, *, attempt: int | None = None, detail: str = ""
) -> None:
    """Write a status change to the delivery's timeline and tell subscribers about it."""
    record_many([Change(delivery, status, detail, attempt)])


def record_many(
    changes: list[Change], *, locked_messages: dict[str, Message] | None = None
) -> None:
    """Write several status changes in one INSERT, count them in the usage rollup and
    announce them in one signal. Every write of a delivery's status comes here (or, for
    a move among the not-yet-final statuses, may not: the rollup counts those together).

    `locked_messages`: the changes' messages by id, when the caller holds their row locks
    in the current transaction (receivers then need not lock them again)."""
    if not changes:
        return
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            delivery=change.delivery,
            status=change.status,
            attempt=change.delivery.attempts if change.attempt is None else change.attempt,
            detail=change.detail[:DETAIL_LIMIT],
        )
        for change in changes
    )
    rollup.count_changes(change.delivery for change in changes)
    delivery_status_changed.send(
        sender=Delivery,
        changes=[(change.delivery, change.status) for change in changes],
        locked_messages=locked_messages or {},
    )


def note(delivery: Delivery, status: str, detail: str) -> None:
    """Keep on the timeline something that did not change the delivery's status (a late or
    repeated provider report, the end of the fate wait); nobody is told, as nothing changed."""
    TimelineEntry.objects.create(
        delivery=delivery, status=status, attempt=delivery.attempts, detail=detail[:DETAIL_LIMIT]
    )
