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
from webhooks.models import InboundEvent, InboundEventMessage

logger = logging.getLogger(__name__)
Status = InboundEvent.Status
# What processing an event ends with: its status, error, (first) message id and traceback.
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
    except (RenderError, ServiceError, ValidationError, PartlyAccepted) as exc:
        return Status.FAILED, _reason(exc), _first_message(event), ""
    except Exception as exc:
        logger.exception("inbound event %s: unexpected error", event.pk)
        return Status.FAILED, f"Internal error: {exc!r}", None, traceback.format_exc()
    return status, error, message_id, ""


def _process(event: InboundEvent) -> tuple[str, str, str | None]:
    endpoint = event.endpoint
    payload = payloads.parse(bytes(event.body), event.content_type)
    event_type = _event_type(event, payload)
    if not rules.candidates(endpoint.rules, endpoint.rule_mode, event_type):
        return Status.IGNORED, f"No rule matches the event type {event_type!r}.", None
    # All conditions and templates first: a mistake in the last rule sends nothing.
    fired = rules.fire(endpoint.rules, endpoint.rule_mode, payload, event_type)
    if not fired:
        reason = f"No rule's condition holds for the event type {event_type!r}."
        return Status.IGNORED, reason, None
    made = dict(
        InboundEventMessage.objects.filter(event=event).values_list("rule_id", "message_id")
    )
    for rule, request in fired:
        if rule["id"] in made:
            continue  # sent by an earlier run of this event (reprocessing, a redelivery)
        try:
            made[rule["id"]] = _accept(event, rule["id"], request)
        except (ServiceError, ValidationError) as exc:
            if not made:
                raise
            raise PartlyAccepted(rule["id"], exc, made) from None
    return Status.PROCESSED, "", made[fired[0][0]["id"]]


class PartlyAccepted(Exception):
    """A fired rule's message was refused (quota, recipient…) after others were accepted."""

    def __init__(self, rule_id: str, cause: Exception, made: dict[str, str]):
        accepted = ", ".join(f"{rule} → {message}" for rule, message in made.items())
        super().__init__(
            f"rule {rule_id!r}: {_reason(cause)} (accepted before it: {accepted}; "
            "reprocessing sends the rest)"
        )


def _accept(event: InboundEvent, rule_id: str, request: dict) -> str:
    """One fired rule's message, through the same accept path as /send (validation,
    quota, deliveries), linked to the event in the same transaction."""
    with transaction.atomic():
        # Idempotent per (event, rule): a run after a crash between the two gets the same
        # message back, and the link's unique constraint keeps it listed once.
        key = f"inbound:{event.pk}:{rule_id}"
        accepted = accept_message(event.account, request, idempotency_key=key)
        message_id = accepted.body["id"]
        InboundEventMessage.objects.get_or_create(
            event=event, rule_id=rule_id, defaults={"message_id": message_id}
        )
    return message_id


def _first_message(event: InboundEvent) -> str | None:
    made = InboundEventMessage.objects.filter(event=event).order_by("pk").first()
    return made.message_id if made else None


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
