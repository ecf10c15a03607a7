"""Attempting deliveries: claim, send through the transport, record the outcome.

Runs in Celery workers. A task carries a message's first wave (its requested channels) or
one delivery (a retry, a fallback, a swept row). Each delivery is claimed with a
conditional UPDATE, so of two workers holding the same task only one sends; a claim carries
a lease, so a worker that dies mid-send leaves a delivery the outbox sweep can hand to
another worker. A task's deliveries are sent side by side (channels_app.outbound) and their
outcomes recorded together: one transaction per message, not per delivery.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from channels_app import outbound
from channels_app.integrations import get_integration
from channels_app.integrations.base import SendResult
from channels_app.models import ChannelConfig, Delivery, Message
from channels_app.queueing import enqueue
from channels_app.retry import next_delay, retry_schedule
from channels_app.timeline import Change, record, record_many
from oneping import leases, queueing
from oneping.errors import ServiceError

logger = logging.getLogger(__name__)
Status = Delivery.Status


def attempt(delivery_id: str) -> None:
    attempt_many([delivery_id])


def attempt_many(delivery_ids: list[str]) -> None:
    deliveries = _claim(delivery_ids)
    for outcomes in outbound.send_all(deliveries):
        _record(outcomes)


def claim_query():
    """Deliveries with their message and their channel's config, in one SELECT."""
    config = ChannelConfig.objects.filter(
        account_id=OuterRef("account_id"), kind=OuterRef("channel")
    ).values("config")[:1]
    return Delivery.objects.select_related("message").annotate(channel_config=Subquery(config))


def _claim(delivery_ids: list[str]) -> list[Delivery]:
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | Q(
        status=Status.RETRYING, next_attempt_at__lte=now + timedelta(seconds=1)
    )
    with transaction.atomic():
        claimed = [
            pk
            for pk in dict.fromkeys(delivery_ids)
            if leases.claim(
                Delivery,
                pk,
                claimable=claimable,
                claimed_status=Status.SENDING,
                lease_seconds=settings.ONEPING_DELIVERY_LEASE_SECONDS,
                now=now,
            )
        ]
        if not claimed:
            return []  # final, not due yet, or another worker holds them
        deliveries = list(claim_query().filter(pk__in=claimed))
        record_many([Change(delivery, Status.SENDING) for delivery in deliveries])
        starting = {d.message_id for d in deliveries if d.message.status == Message.Status.QUEUED}
        if starting:
            Message.objects.filter(pk__in=starting, status=Message.Status.QUEUED).update(
                status=Message.Status.PROCESSING
            )
    return deliveries


def _record(outcomes: list[tuple[Delivery, outbound.Outcome]]) -> None:
    by_message: dict[str, list[tuple[Delivery, outbound.Outcome]]] = defaultdict(list)
    for delivery, outcome in outcomes:
        by_message[delivery.message_id].append((delivery, outcome))
    for message_id, of_message in by_message.items():
        with transaction.atomic():
            changes = [_apply(delivery, outcome) for delivery, outcome in of_message]
            changes = [change for change in changes if change is not None]
            if any(change.status != Status.RETRYING for change in changes):
                # A delivery ended: the message's status and its fallbacks follow. The lock
                # is taken after the deliveries' rows, in the order retry_failed takes them.
                message = Message.objects.select_for_update().get(pk=message_id)
                record_many(changes, locked_message=message)
                settle_message(message)
            else:
                record_many(changes)


def _apply(delivery: Delivery, outcome: outbound.Outcome) -> Change | None:
    """Store one attempt's outcome on the delivery; None if it is no longer ours."""
    now = timezone.now()
    if isinstance(outcome, SendResult):
        status = get_integration(delivery.channel).success_status
        stored = _store_outcome(
            delivery,
            now,
            status=status,
            provider_message_id=outcome.provider_message_id[:255],
            last_error="",
            next_attempt_at=None,
        )
        return Change(delivery, status, outcome.response_excerpt) if stored else None

    error = outcome
    detail = error.message
    if error.response_excerpt and error.response_excerpt not in detail:
        detail = f"{detail}\n{error.response_excerpt}"
    if error.permanent or delivery.attempts >= delivery.max_attempts:
        stored = _store_outcome(
            delivery,
            now,
            status=Status.FAILED,
            last_error=error.message[:2048],
            next_attempt_at=None,
        )
        return Change(delivery, Status.FAILED, detail) if stored else None
    delay = next_delay(delivery.attempts, error.retry_after)
    due, enqueued_at, use_countdown = queueing.plan_retry(delay, now)
    if not _store_outcome(
        delivery,
        now,
        status=Status.RETRYING,
        last_error=error.message[:2048],
        next_attempt_at=due,
        enqueued_at=enqueued_at,
    ):
        return None
    if use_countdown:
        transaction.on_commit(lambda: enqueue([delivery.pk], countdown=delay))
    return Change(delivery, Status.RETRYING, f"{detail}\nnext attempt in {delay:.1f} s")


def _store_outcome(delivery: Delivery, now, **fields) -> bool:
    """Write the fields if the delivery is still ours (sending), and mirror them on it."""
    fields.update(lease_expires_at=None, updated_at=now)
    if not Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(**fields):
        return False
    for name, value in fields.items():
        setattr(delivery, name, value)
    return True


def settle_message(message: Message) -> None:
    """After a delivery ended: start the next fallback or skip the rest, and re-derive the
    message's status. The caller holds the message's row lock (select_for_update), so two
    deliveries ending at once agree."""
    deliveries = list(message.deliveries.all())
    active = [d for d in deliveries if d.status not in (Status.STANDBY, Status.SKIPPED)]
    in_flight = any(d.status in Delivery.IN_FLIGHT for d in active)
    succeeded = any(d.status in Delivery.SUCCEEDED for d in active)
    standby = [d for d in deliveries if d.status == Status.STANDBY]
    if standby and not in_flight:
        if succeeded:
            for fallback in standby:
                _set_status(fallback, Status.SKIPPED, "not needed: a requested channel succeeded")
        else:
            failed = ", ".join(d.channel for d in active if d.status in Delivery.ENDED_FAILED)
            _set_status(standby[0], Status.QUEUED, f"fallback: {failed} failed")
            transaction.on_commit(lambda: enqueue([standby[0].pk]))
    status = derive_status(deliveries)
    if status != message.status:
        message.status = status
        message.save(update_fields=["status"])


def _set_status(delivery: Delivery, status: str, detail: str) -> None:
    delivery.status = status
    delivery.updated_at = timezone.now()
    fields = ["status", "updated_at"]
    if status == Status.QUEUED:
        delivery.enqueued_at = delivery.updated_at
        fields.append("enqueued_at")
    delivery.save(update_fields=fields)
    record(delivery, status, detail=detail)


def derive_status(deliveries: list[Delivery]) -> str:
    active = [d for d in deliveries if d.status not in (Status.STANDBY, Status.SKIPPED)]
    if any(d.status in Delivery.IN_FLIGHT for d in active):
        if all(d.status == Status.QUEUED for d in active) and not any(d.attempts for d in active):
            return Message.Status.QUEUED
        return Message.Status.PROCESSING
    succeeded = sum(d.status in Delivery.SUCCEEDED for d in active)
    if succeeded == len(active):
        return Message.Status.DELIVERED
    if succeeded == 0:
        return Message.Status.FAILED
    return Message.Status.PARTIALLY_FAILED


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
        budget = 1 + len(retry_schedule()) if delivery.message.retry else 1
        delivery.max_attempts = delivery.attempts + budget
        delivery.next_attempt_at = None
        delivery.save(update_fields=["max_attempts", "next_attempt_at"])
        _set_status(delivery, Status.QUEUED, "manual retry")
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
