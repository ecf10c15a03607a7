"""Attempting deliveries: claim, send through the transport, record the outcome.

Runs in Celery workers. A task carries a message's first wave (its requested channels) or
one delivery (a retry, a fallback, a swept row). Rows are claimed with SELECT … FOR UPDATE
SKIP LOCKED and an UPDATE (oneping.leases.claim_batch), so of two workers holding the same
task only one sends; a claim carries a lease, so a worker that dies mid-send leaves a
delivery the outbox sweep can hand to another worker.

Under a backlog a task also claims up to BATCH of the oldest queued deliveries, whose own
tasks then find them taken: many messages share one claim, one round of sends side by side
(channels_app.outbound) and one transaction of outcomes (channels_app.outcomes), instead of
paying each of those per message. With no backlog a task finds only its own rows.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from channels_app import outbound, retry
from channels_app.models import ChannelConfig, Delivery, Message
from channels_app.outcomes import record_outcomes, set_status
from channels_app.queueing import enqueue
from channels_app.timeline import Change, record_many
from oneping import instruments, leases, logs, parallel, queueing
from oneping.errors import ServiceError

logger = logging.getLogger(__name__)
Status = Delivery.Status

# Deliveries one task claims under a backlog: two rounds of the process's send threads, so
# even sends that all run into the HTTP timeouts end well inside the lease.
BATCH = 2 * parallel.THREADS


def attempt(delivery_id: str) -> None:
    """One delivery, as its retry's countdown task would (up to SCHEDULED_EARLY before it
    is due). For tests and tools; the Celery task calls attempt_many."""
    attempts = Delivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True)
    attempt_many([delivery_id], retry_of=attempts.first())


def attempt_many(delivery_ids: list[str], *, more: int = 0, retry_of: int | None = None) -> None:
    """Send the deliveries that are still due, and up to `more` others that wait in the
    queue (the Celery task asks for a batch: see BATCH). `retry_of`: the task is a
    retry's countdown (oneping.queueing.SCHEDULED_EARLY)."""
    deliveries = _claim(delivery_ids, more, retry_of)
    for outcomes in outbound.send_all(deliveries):
        # Counted as sent, whatever recording them does next: the provider saw them.
        for delivery, outcome in outcomes:
            instruments.DELIVERY_ATTEMPTS.labels(delivery.channel, outbound.kind(outcome)).inc()
        record_outcomes(outcomes)


def claim_query():
    """Deliveries with their message and their channel's config, in one SELECT."""
    config = ChannelConfig.objects.filter(
        account_id=OuterRef("account_id"), kind=OuterRef("channel")
    ).values("config")[:1]
    return Delivery.objects.select_related("message").annotate(channel_config=Subquery(config))


def _claim(delivery_ids: list[str], more: int, retry_of: int | None) -> list[Delivery]:
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | queueing.retry_due(Status.RETRYING, now, retry_of)
    # The oldest first waves and fallbacks whose tasks are still queued (delivery_sweep).
    waiting = Delivery.objects.filter(status=Status.QUEUED).order_by("enqueued_at")
    with transaction.atomic():
        claimed = leases.claim_batch(
            Delivery,
            list(dict.fromkeys(delivery_ids)),
            claimable=claimable,
            claimed_status=Status.SENDING,
            lease_seconds=settings.ONEPING_DELIVERY_LEASE_SECONDS,
            now=now,
            waiting=waiting,
            more=more,
        )
        if not claimed:
            return []  # final, not due yet, or another worker holds them
        deliveries = list(claim_query().filter(pk__in=claimed))
        messages = {delivery.message_id for delivery in deliveries}
        if len(messages) == 1:
            logs.bind(message_id=messages.pop())
        record_many([Change(delivery, Status.SENDING) for delivery in deliveries])
        starting = {d.message_id for d in deliveries if d.message.status == Message.Status.QUEUED}
        if starting:
            Message.objects.filter(pk__in=starting, status=Message.Status.QUEUED).update(
                status=Message.Status.PROCESSING
            )
    return deliveries


def retry_failed(delivery: Delivery) -> Delivery:
    """Reprocess a dead letter: a fresh set of attempts for the same delivery."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status not in Delivery.ENDED_FAILED:
            raise ServiceError(
                "delivery_not_failed",
                f"Only failed deliveries can be retried; this one is {delivery.status}.",
                status=409,
                details={"status": delivery.status},
            )
        budget = retry.max_attempts(delivery.message.retry)
        delivery.max_attempts = delivery.attempts + budget
        delivery.next_attempt_at = None
        delivery.save(update_fields=["max_attempts", "next_attempt_at"])
        set_status(delivery, Status.QUEUED, "manual retry")
        Message.objects.filter(pk=delivery.message_id).update(status=Message.Status.PROCESSING)
        transaction.on_commit(lambda: enqueue([delivery.pk]))
    return delivery


def sweep_outbox(batch: int = 500) -> int:
    """Enqueue deliveries whose task was lost (accepted while the broker was down, a
    retry whose timer died with its worker, a claim whose worker died mid-send) and
    retries too far ahead to have been sent as countdown tasks, once they are due."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS)
    lost = leases.lost_or_due(
        waiting=[Status.QUEUED],
        retrying=Status.RETRYING,
        claimed=Status.SENDING,
        now=now,
        stale=stale,
    )
    swept = leases.enqueue_swept(Delivery.objects.filter(lost), enqueue, now, batch)
    if swept:
        logger.info("outbox sweep: enqueued %d deliveries", swept)
    return swept
