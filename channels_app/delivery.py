"""Attempting deliveries: claim, send through the transport, record the outcome.

Runs in Celery workers. A delivery is claimed with a conditional UPDATE, so of two workers
holding the same task only one sends; a claim carries a lease, so a worker that dies
mid-send leaves a delivery the outbox sweep can hand to another worker.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from channels_app.integrations import get_integration
from channels_app.integrations.base import Outgoing, SendResult, TransportError
from channels_app.models import ChannelConfig, Delivery, Message
from channels_app.queueing import enqueue
from channels_app.retry import next_delay, retry_schedule
from channels_app.timeline import record
from oneping import leases, queueing
from oneping.errors import ServiceError

logger = logging.getLogger(__name__)
Status = Delivery.Status


def attempt(delivery_id: str) -> None:
    delivery = _claim(delivery_id)
    if delivery is None:
        return  # final, not due yet, or another worker holds it
    try:
        result = _send(delivery)
    except TransportError as exc:
        _failed_attempt(delivery, exc)
    except Exception as exc:
        # A bug or an unexpected library error: keep it on the delivery, and retry.
        logger.exception("delivery %s: unexpected error", delivery.pk)
        _failed_attempt(delivery, TransportError(f"Internal error: {exc!r}", permanent=False))
    else:
        _succeeded(delivery, result)


def _claim(delivery_id: str) -> Delivery | None:
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | Q(
        status=Status.RETRYING, next_attempt_at__lte=now + timedelta(seconds=1)
    )
    with transaction.atomic():
        claimed = leases.claim(
            Delivery,
            delivery_id,
            claimable=claimable,
            claimed_status=Status.SENDING,
            lease_seconds=settings.ONEPING_DELIVERY_LEASE_SECONDS,
            now=now,
        )
        if not claimed:
            return None
        delivery = Delivery.objects.select_related("message").get(pk=delivery_id)
        record(delivery, Status.SENDING)
        Message.objects.filter(pk=delivery.message_id, status=Message.Status.QUEUED).update(
            status=Message.Status.PROCESSING
        )
    return delivery


def _send(delivery: Delivery) -> SendResult:
    config = ChannelConfig.objects.filter(
        account_id=delivery.account_id, kind=delivery.channel
    ).first()
    if config is None:
        raise TransportError(
            f"The {delivery.channel} channel is no longer configured for this account.",
            permanent=True,
        )
    message = delivery.message
    outgoing = Outgoing(
        text=message.body,
        subject=message.subject,
        target=delivery.target,
        message_id=message.pk,
        delivery_id=delivery.pk,
    )
    return get_integration(delivery.channel).send(config.config, outgoing)


def _succeeded(delivery: Delivery, result: SendResult) -> None:
    status = get_integration(delivery.channel).success_status
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
            status=status,
            provider_message_id=result.provider_message_id[:255],
            last_error="",
            lease_expires_at=None,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        if not updated:
            return
        delivery.status = status
        delivery.provider_message_id = result.provider_message_id
        record(delivery, status, detail=result.response_excerpt)
        settle_message(delivery.message_id)


def _failed_attempt(delivery: Delivery, exc: TransportError) -> None:
    now = timezone.now()
    detail = exc.message
    if exc.response_excerpt and exc.response_excerpt not in detail:
        detail = f"{detail}\n{exc.response_excerpt}"
    with transaction.atomic():
        if not exc.permanent and delivery.attempts < delivery.max_attempts:
            delay = next_delay(delivery.attempts, exc.retry_after)
            due, enqueued_at, use_countdown = queueing.plan_retry(delay, now)
            updated = Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
                status=Status.RETRYING,
                last_error=exc.message[:2048],
                next_attempt_at=due,
                enqueued_at=enqueued_at,
                lease_expires_at=None,
                updated_at=now,
            )
            if updated:
                delivery.status = Status.RETRYING
                delivery.last_error = exc.message[:2048]
                record(delivery, Status.RETRYING, detail=f"{detail}\nnext attempt in {delay:.1f} s")
                if use_countdown:
                    transaction.on_commit(lambda: enqueue([delivery.pk], countdown=delay))
            return
        updated = Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
            status=Status.FAILED,
            last_error=exc.message[:2048],
            next_attempt_at=None,
            lease_expires_at=None,
            updated_at=now,
        )
        if updated:
            delivery.status = Status.FAILED
            delivery.last_error = exc.message[:2048]
            record(delivery, Status.FAILED, detail=detail)
            settle_message(delivery.message_id)


def settle_message(message_id: str) -> None:
    """After a delivery ended: start the next fallback or skip the rest, and re-derive the
    message's status. The message row is locked so two deliveries ending at once agree."""
    message = Message.objects.select_for_update().get(pk=message_id)
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
    message.status = derive_status(deliveries)
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
