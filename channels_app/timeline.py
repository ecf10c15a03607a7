from channels_app.models import Delivery, TimelineEntry
from channels_app.signals import delivery_status_changed

DETAIL_LIMIT = 2048


def record(
    delivery: Delivery, status: str, *, attempt: int | None = None, detail: str = ""
) -> None:
    """Write a status change to the delivery's timeline and tell subscribers about it."""
    TimelineEntry.objects.create(
        delivery=delivery,
        status=status,
        attempt=delivery.attempts if attempt is None else attempt,
        detail=detail[:DETAIL_LIMIT],
    )
    delivery_status_changed.send(sender=Delivery, delivery=delivery, status=status)
