"""The end of the fate wait: deliveries whose provider said nothing more within
ONEPING_FALLBACK_WAIT_SECONDS of "sent" are taken as sent, and their messages settle
(fallbacks skipped, the message delivered). Run by beat ("fate-wait" in settings).

Without ONEPING_PUBLIC_URL no provider is told where to report, so every such delivery
ends this way (README, "Provider status callbacks").
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app import rollup
from channels_app.models import Delivery, Message
from channels_app.outcomes import settle_messages
from channels_app.timeline import note

Status = Delivery.Status


def settle_overdue(batch: int = 500) -> int:
    """Settle up to `batch` deliveries whose wait is over, one message at a time; returns
    how many."""
    now = timezone.now()
    overdue = Delivery.objects.filter(status=Status.SENT, fate_due_at__lte=now)
    messages = list(overdue.order_by("fate_due_at").values_list("message_id", flat=True)[:batch])
    settled = 0
    for message_id in dict.fromkeys(messages):
        settled += _settle_message(message_id, now)
    return settled


def _settle_message(message_id: str, now: datetime) -> int:
    with transaction.atomic(), rollup.together():
        # Deliveries first, then the message: the order every writer takes them.
        deliveries = list(
            Delivery.objects.select_for_update()
            .filter(message_id=message_id, status=Status.SENT, fate_due_at__lte=now)
            .order_by("pk")
        )
        if not deliveries:
            return 0  # a report came meanwhile
        message = Message.objects.select_for_update().get(pk=message_id)
        wait = settings.ONEPING_FALLBACK_WAIT_SECONDS
        for delivery in deliveries:
            delivery.fate_due_at = None
            delivery.updated_at = now
            delivery.save(update_fields=["fate_due_at", "updated_at"])
            note(
                delivery,
                Status.SENT,
                f"no report from the provider within {wait} s of sending: taken as sent",
            )
        settle_messages([message])
    return len(deliveries)
