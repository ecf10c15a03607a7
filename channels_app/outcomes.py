"""Recording what the transports answered: delivery rows, timeline, events, message status
(the deliveries outbox's `record`, channels_app.delivery).

A group of outcomes (deliveries of several messages, sent side by side) is recorded in one
transaction: one statement per kind of row, not per delivery. If that transaction fails,
each message is recorded on its own, so one message's trouble cannot hold back the others
(their rows would otherwise stay "sending" until the lease runs out, and be sent again).
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app import rollup, suppressions
from channels_app.integrations import get_integration
from channels_app.integrations.base import SendResult, TransportError
from channels_app.models import Delivery, Message, TimelineEntry
from channels_app.outbound import Outcome, kind
from channels_app.pacing import gate
from channels_app.pacing.gate import Paced
from channels_app.queueing import enqueue
from channels_app.timeline import Change, record, record_many
from oneping import bulk, instruments
from oneping.outbox import Claim, Outbox

logger = logging.getLogger(__name__)
Status = Delivery.Status

# What an outcome writes on its delivery; the loaded row holds the others' current values.
OUTCOME_FIELDS = [
    "status",
    "attempts",
    "paced_until",
    "holds_order_until",
    "provider_message_id",
    "last_error",
    "next_attempt_at",
    "enqueued_at",
    "lease_expires_at",
    "fate_due_at",
    "updated_at",
]


def record_outcomes(outcomes: list[tuple[Delivery, Outcome]], claim: Claim) -> None:
    # Counted as sent, whatever recording them does next: the provider saw them. A wait
    # for a pacing token is no attempt: counted apart.
    for delivery, outcome in outcomes:
        if isinstance(outcome, Paced):
            instruments.PACED_WAITS.labels(delivery.channel).inc()
            continue
        instruments.DELIVERY_ATTEMPTS.labels(delivery.channel, kind(outcome)).inc()
        if isinstance(outcome, TransportError) and outcome.retry_after and not outcome.permanent:
            instruments.PROVIDER_RATE_LIMITED.labels(delivery.channel).inc()
    try:
        with transaction.atomic(), rollup.together():
            _record_together(outcomes, claim)
        return
    except Exception:
        by_message = _by_message(outcomes)
        if len(by_message) == 1:
            raise
        logger.exception("recording %d outcomes at once failed; per message now", len(outcomes))
    failures = []
    for of_message in by_message.values():
        try:
            with transaction.atomic(), rollup.together():
                _record_together(of_message, claim)
        except Exception as exc:
            logger.exception("delivery %s: recording its outcome failed", of_message[0][0].pk)
            failures.append(exc)
    if failures:
        raise failures[0]


def _by_message(outcomes: list[tuple[Delivery, Outcome]]) -> dict[str, list]:
    grouped: dict[str, list[tuple[Delivery, Outcome]]] = defaultdict(list)
    for delivery, outcome in outcomes:
        grouped[delivery.message_id].append((delivery, outcome))
    return grouped


def _record_together(outcomes: list[tuple[Delivery, Outcome]], claim: Claim) -> None:
    mine = claim.still_ours(outcomes)
    if not mine:
        return
    # Still claimed (still_ours checked it): what the usage rollup counts them under, even
    # when these objects come from a first try whose transaction rolled back.
    for delivery, _ in mine:
        delivery.counted_status = claim.outbox.claimed
    # Every message of the group, locked after its deliveries (the order retry_failed and
    # timeline.record take them) and in id order, so two workers never wait on each other.
    messages = {
        message.pk: message
        for message in Message.objects.select_for_update()
        .filter(pk__in={d.message_id for d, _ in mine})
        .order_by("pk")
    }
    now = timezone.now()
    paced = [(d, outcome) for d, outcome in mine if isinstance(outcome, Paced)]
    attempted = [(d, outcome) for d, outcome in mine if not isinstance(outcome, Paced)]
    waits = [gate.apply_paced(delivery, outcome, now) for delivery, outcome in paced]
    for delivery, outcome in attempted:
        gate.after_attempt(delivery, outcome, now)
    changes = [_apply(delivery, outcome, now, claim.outbox) for delivery, outcome in attempted]
    finished = [c.delivery for c in changes if c.status != Status.RETRYING]
    gate.hand_off(finished, [c.delivery for c in changes if c.status == Status.RETRYING], now)
    bulk.update_rows([delivery for delivery, _ in mine], OUTCOME_FIELDS)
    # A wait is noted, not announced: the delivery's status did not change for anyone.
    TimelineEntry.objects.bulk_create([entry for entry in waits if entry is not None])
    suppressions.record_opt_outs(attempted)
    record_many(changes, locked_messages=messages)
    ended = {change.delivery.message_id for change in changes if change.status != Status.RETRYING}
    settle_messages([messages[pk] for pk in sorted(ended)])
    count_final([(change.delivery.channel, change.status) for change in changes])


def count_final(changes: list[tuple[str, str]]) -> None:
    """Count deliveries that reached a final status, once their transaction committed (a
    rolled-back group is recorded again, per message: see record_outcomes)."""
    final = [(channel, status) for channel, status in changes if status in Delivery.FINAL]
    if final:
        transaction.on_commit(partial(_count, final))


def _count(final: list[tuple[str, str]]) -> None:
    for channel, status in final:
        instruments.DELIVERIES.labels(channel, status).inc()


def _apply(delivery: Delivery, outcome: Outcome, now: datetime, outbox: Outbox) -> Change:
    """Set the outcome's fields on the delivery (saved by the caller) and say what changed."""
    delivery.lease_expires_at = None
    delivery.updated_at = now
    delivery.fate_due_at = None
    if isinstance(outcome, SendResult):
        integration = get_integration(delivery.channel)
        delivery.status = integration.success_status
        reported = outcome.fate_reported
        if reported is None:
            reported = integration.reports_fate_for(getattr(delivery, "channel_config", None) or {})
        if reported:
            # Its provider reports delivered, read or failed later: the message's fallbacks
            # wait for that report, or this long (channels_app.fates).
            delivery.fate_due_at = now + timedelta(seconds=settings.ONEPING_FALLBACK_WAIT_SECONDS)
        delivery.provider_message_id = outcome.provider_message_id[:255]
        delivery.last_error = ""
        delivery.next_attempt_at = None
        return Change(delivery, delivery.status, outcome.response_excerpt)

    error = outcome
    detail = error.message
    if error.response_excerpt and error.response_excerpt not in detail:
        detail = f"{detail}\n{error.response_excerpt}"
    delivery.last_error = error.message[:2048]
    delay = None if error.permanent else outbox.retry_later(delivery, error.retry_after, now)
    if delay is None:
        delivery.status = Status.FAILED
        delivery.next_attempt_at = None
        return Change(delivery, Status.FAILED, detail)
    return Change(delivery, Status.RETRYING, f"{detail}\nnext attempt in {delay:.1f} s")


def settle_messages(messages: list[Message]) -> None:
    """After deliveries ended: start each message's next fallback or skip the rest, and
    re-derive its status. The caller holds the messages' row locks (select_for_update), so
    two deliveries of one message ending at once agree."""
    if not messages:
        return
    deliveries: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in Delivery.objects.filter(message_id__in=[m.pk for m in messages]).order_by(
        "message_id", "fallback_order", "id"
    ):
        deliveries[delivery.message_id].append(delivery)
    changed = [message for message in messages if _settle(message, deliveries[message.pk])]
    if changed:
        Message.objects.bulk_update(changed, ["status"])


def awaiting_fate(delivery: Delivery) -> bool:
    """Sent on a kind whose provider reports the fate later, and no final report yet (nor
    has ONEPING_FALLBACK_WAIT_SECONDS passed): it may still fail."""
    return delivery.status == Status.SENT and delivery.fate_due_at is not None


def _active(deliveries: list[Delivery]) -> list[Delivery]:
    """The deliveries that ran or run: not fallbacks waiting or found not needed."""
    return [d for d in deliveries if d.status not in (Status.STANDBY, Status.SKIPPED)]


def _running(active: list[Delivery]) -> bool:
    """Whether any may still change: in flight, or sent and awaiting its fate."""
    return any(d.status in Delivery.IN_FLIGHT or awaiting_fate(d) for d in active)


def _settle(message: Message, deliveries: list[Delivery]) -> bool:
    """Start or skip the message's fallbacks; True if its status changed (not yet saved).
    A delivery awaiting its fate counts as in flight: a fallback started now could not be
    taken back if the report says delivered, nor skipped ones started if it says failed."""
    active = _active(deliveries)
    in_flight = _running(active)
    succeeded = any(d.status in Delivery.SUCCEEDED for d in active)
    standby = [d for d in deliveries if d.status == Status.STANDBY]
    if standby and not in_flight:
        if succeeded:
            for fallback in standby:
                set_status(fallback, Status.SKIPPED, "not needed: a requested channel succeeded")
        else:
            # Each channel with its fate ("<kind> failed", "<kind> bounced"): why it started.
            ended = [f"{d.channel} {d.status}" for d in active if d.status in Delivery.ENDED_FAILED]
            set_status(standby[0], Status.QUEUED, f"fallback: {', '.join(ended)}")
            transaction.on_commit(lambda: enqueue([standby[0].pk]))
    status = derive_status(deliveries)
    if status == message.status:
        return False
    message.status = status
    return True


def set_status(delivery: Delivery, status: str, detail: str) -> None:
    delivery.status = status
    delivery.updated_at = timezone.now()
    fields = ["status", "updated_at"]
    if status == Status.QUEUED:
        delivery.enqueued_at = delivery.updated_at
        fields.append("enqueued_at")
    delivery.save(update_fields=fields)
    record(delivery, status, detail=detail)
    count_final([(delivery.channel, status)])


def derive_status(deliveries: list[Delivery]) -> str:
    """The message's status from its deliveries' (README, "Provider status callbacks"):
    processing while any is in flight or awaiting its fate; then delivered when every one
    that ran succeeded, failed when none did, partially_failed otherwise."""
    active = _active(deliveries)
    if _running(active):
        if all(d.status == Status.QUEUED for d in active) and not any(d.attempts for d in active):
            return Message.Status.QUEUED
        return Message.Status.PROCESSING
    succeeded = sum(d.status in Delivery.SUCCEEDED for d in active)
    if succeeded == len(active):
        return Message.Status.DELIVERED
    if succeeded == 0:
        return Message.Status.FAILED
    return Message.Status.PARTIALLY_FAILED
