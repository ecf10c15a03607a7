"""Turning a stored inbound event into a notification: the inbound outbox's act and record
(runs in a Celery worker; oneping/outbox/ has the worker's steps)."""

import logging
import traceback
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from channels_app.accepting import accept_message
from oneping import instruments, logs
from oneping.api.errors import describe_validation_error
from oneping.errors import ServiceError
from oneping.outbox import Claim, Outbox
from webhooks.inbound import event_types, rules
from webhooks.inbound import payload as payloads
from webhooks.inbound.queueing import PROCESS_INBOUND_TASK, enqueue
from webhooks.inbound.templates import RenderError
from webhooks.models import InboundEvent

logger = logging.getLogger(__name__)
Status = InboundEvent.Status
# What processing an event ends with: its status, error, message id and traceback.
Outcome = tuple[str, str, str | None, str]


def _load(claimed: list[str]) -> list[InboundEvent]:
    events = list(
        InboundEvent.objects.select_related("endpoint", "account__plan").filter(pk__in=claimed)
    )
    for event in events:  # one: inbound events are claimed one at a time
        logs.bind(event_id=event.pk, account_id=event.account_id)
    return events


def _outcome(event: InboundEvent) -> Outcome:
    """Process the event; its failures are outcomes too (they make it a dead letter)."""
    try:
        status, error, message_id = _process(event)
    except (RenderError, ServiceError, ValidationError) as exc:
        return Status.FAILED, _reason(exc), None, ""
    except Exception as exc:
        logger.exception("inbound event %s: unexpected error", event.pk)
        return Status.FAILED, f"Internal error: {exc!r}", None, traceback.format_exc()
    return status, error, message_id, ""


def _process(event: InboundEvent) -> tuple[str, str, str | None]:
    payload = payloads.parse(bytes(event.body), event.content_type)
    event_type = _event_type(event, payload)
    rule = rules.match(event.endpoint.rules, event_type)
    if rule is None:
        return Status.IGNORED, f"No rule matches the event type {event_type!r}.", None
    request = rules.send_request(rule, payload, event_type)
    # The event id as idempotency key: however often this runs, one message is sent.
    accepted = accept_message(event.account, request, idempotency_key=f"inbound:{event.pk}")
    return Status.PROCESSED, "", accepted.body["id"]


def _event_type(event: InboundEvent, payload: object) -> str:
    """The type the rules match; a template `event_type_from` renders now (event_types),
    and the event then shows the rendered type."""
    event_type = event_types.for_rules(
        event.endpoint.event_type_from, event.event_type, event.headers, payload
    )
    if event_type != event.event_type:
        InboundEvent.objects.filter(pk=event.pk).update(event_type=event_type)
        event.event_type = event_type
    return event_type


def _record(outcomes: list[tuple[InboundEvent, Outcome]], claim: Claim) -> None:
    for event, (status, error, message_id, trace) in outcomes:
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


def _give_up(rows: Q, now: datetime) -> int:
    """Fail the events whose processing was interrupted (the worker died holding the
    lease) ONEPING_INBOUND_MAX_INTERRUPTIONS times, instead of handing them out again;
    returns how many."""
    failed = InboundEvent.objects.filter(rows).update(
        status=Status.FAILED,
        error=f"processing was interrupted {settings.ONEPING_INBOUND_MAX_INTERRUPTIONS} times",
        traceback="",
        message_id=None,
        processed_at=now,
        lease_expires_at=None,
        updated_at=now,
    )
    if failed:
        instruments.INBOUND_EVENTS.labels(Status.FAILED).inc(failed)
    return failed


INBOUND = Outbox(
    name="inbound events",
    model=InboundEvent,
    task_name=PROCESS_INBOUND_TASK,
    waiting=Status.RECEIVED,
    claimed=Status.PROCESSING,
    retrying=None,  # a failed event is a dead letter, reprocessed by hand (reprocess)
    lease_setting="ONEPING_INBOUND_LEASE_SECONDS",
    load=_load,
    act=_outcome,
    record=_record,
    # One at a time, in the task's own thread: processing writes (it starts a message).
    batch=0,
    # attempts counts the claims since the event last became "received" (reprocess resets
    # it), so a poison event is recognised (oneping.leases.interrupted_too_often).
    max_interruptions="ONEPING_INBOUND_MAX_INTERRUPTIONS",
    give_up=_give_up,
)

sweep = INBOUND.sweep


def process(event_id: str) -> None:
    """One event, as its task would. For tests and tools."""
    INBOUND.attempt_many([event_id])


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
