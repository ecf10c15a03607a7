"""Turning a stored inbound event into a notification (runs in a Celery worker)."""

import logging
import traceback
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from channels_app.accepting import accept_message
from oneping import instruments, leases, logs
from oneping.api.errors import describe_validation_error
from oneping.errors import ServiceError
from webhooks.inbound import payload as payloads
from webhooks.inbound import rules
from webhooks.inbound.queueing import enqueue
from webhooks.inbound.templates import RenderError
from webhooks.models import InboundEvent

logger = logging.getLogger(__name__)
Status = InboundEvent.Status


def process(event_id: str) -> None:
    now = timezone.now()
    claimed = leases.claim(
        InboundEvent,
        event_id,
        claimable=Q(status=Status.RECEIVED),
        claimed_status=Status.PROCESSING,
        lease_seconds=settings.ONEPING_INBOUND_LEASE_SECONDS,
        now=now,
    )
    if not claimed:
        return  # processed already, or another worker has it
    event = InboundEvent.objects.select_related("endpoint", "account__plan").get(pk=event_id)
    logs.bind(event_id=event.pk, account_id=event.account_id)
    interrupted = event.attempts - 1  # every earlier claim's lease ran out (leases.py)
    if interrupted >= settings.ONEPING_INBOUND_MAX_INTERRUPTIONS:
        # It killed the workers that took it (a task the sweep did not stop: the broker
        # redelivered it): not one more. The same rule as the sweep's, one claim later.
        _finish(event, Status.FAILED, error=_interrupted_reason())
        return
    try:
        outcome = _process(event)
    except (RenderError, ServiceError, ValidationError) as exc:
        _finish(event, Status.FAILED, error=_reason(exc))
    except Exception as exc:
        logger.exception("inbound event %s: unexpected error", event_id)
        _finish(
            event, Status.FAILED, error=f"Internal error: {exc!r}", trace=traceback.format_exc()
        )
    else:
        _finish(event, *outcome)


def _process(event: InboundEvent) -> tuple[str, str, str | None]:
    payload = payloads.parse(bytes(event.body), event.content_type)
    rule = rules.match(event.endpoint.rules, event.event_type)
    if rule is None:
        return Status.IGNORED, f"No rule matches the event type {event.event_type!r}.", None
    request = rules.send_request(rule, payload, event.event_type)
    # The event id as idempotency key: however often this runs, one message is sent.
    accepted = accept_message(event.account, request, idempotency_key=f"inbound:{event.pk}")
    return Status.PROCESSED, "", accepted.body["id"]


def _finish(
    event: InboundEvent, status: str, error: str = "", message_id: str | None = None, trace=""
) -> None:
    finished = InboundEvent.objects.filter(pk=event.pk, status=Status.PROCESSING).update(
        status=status,
        error=error[:4000],
        traceback=trace[:20000],
        message_id=message_id,
        processed_at=timezone.now(),
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    if finished:
        instruments.INBOUND_EVENTS.labels(status).inc()


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        code, message, _ = describe_validation_error(exc)
        return f"{code}: {message}"
    if isinstance(exc, ServiceError):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, RenderError) and exc.code:
        return f"{exc.code}: {exc}"
    return str(exc)


def reprocess(events: list[InboundEvent]) -> int:
    """Dead letters (failed, or ignored before a rule existed) go through processing again."""
    ids = [e.pk for e in events if e.status in (Status.FAILED, Status.IGNORED)]
    with transaction.atomic():
        # attempts counts the claims since: the interruption cap starts again.
        InboundEvent.objects.filter(pk__in=ids, status__in=[Status.FAILED, Status.IGNORED]).update(
            status=Status.RECEIVED, error="", traceback="", enqueued_at=timezone.now(), attempts=0
        )
        transaction.on_commit(lambda: enqueue(ids))
    return len(ids)


def sweep() -> int:
    now = timezone.now()
    given_up = _give_up_on_interrupted(now)
    if given_up:
        logger.warning("inbound sweep: %d events failed after repeated interruptions", given_up)
    lost = leases.lost_or_due(
        waiting=[Status.RECEIVED],
        retrying=None,
        claimed=Status.PROCESSING,
        now=now,
        stale=now - timedelta(seconds=settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS),
    )
    return leases.enqueue_swept(InboundEvent.objects.filter(lost), enqueue, now)


def _interrupted_reason() -> str:
    return f"processing was interrupted {settings.ONEPING_INBOUND_MAX_INTERRUPTIONS} times"


def _give_up_on_interrupted(now: datetime) -> int:
    """Fail the events whose processing was interrupted (the worker died holding the
    lease) ONEPING_INBOUND_MAX_INTERRUPTIONS times, instead of handing them out again;
    returns how many."""
    times = settings.ONEPING_INBOUND_MAX_INTERRUPTIONS
    poisoned = leases.interrupted_too_often(claimed=Status.PROCESSING, now=now, times=times)
    failed = InboundEvent.objects.filter(poisoned).update(
        status=Status.FAILED,
        error=_interrupted_reason(),
        processed_at=now,
        lease_expires_at=None,
        updated_at=now,
    )
    if failed:
        instruments.INBOUND_EVENTS.labels(Status.FAILED).inc(failed)
    return failed
