"""Pacing in the deliveries outbox (channels_app.delivery): which deliveries a claim may
take, the tokens the claimed ones take, and what a wait or a provider's 429 writes.

- A claim takes only the head of each destination: a delivery with no older one of its
  destination queued, sending, or retrying within ONEPING_PACING_ORDER_WAIT_SECONDS of its
  first failure (`claimable`). So deliveries to one destination leave in acceptance order,
  one at a time, and a retried one holds the others for a bounded while.
- A claimed delivery takes a token from each of its buckets (`take_tokens`, in the claim's
  transaction). Without one it is not sent: it goes back to queued with `paced_until`, its
  attempt not counted, and one countdown task brings it back then (`Paced`). Only heads are
  ever paced, so that is one waiting task per destination, never one per delivery.
- When a head ends, the next delivery of its destination is enqueued (`hand_off`).
- A provider's 429 (or a window it announces used up) pauses the delivery's first bucket
  for the time it gave (`pause_after`); the refused delivery, retrying, stays the head.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from channels_app import pacing
from channels_app.integrations import get_integration
from channels_app.integrations.base import SendResult, TransportError
from channels_app.integrations.simulator import transport as simulator
from channels_app.models import Delivery, TimelineEntry
from channels_app.pacing import store
from channels_app.queueing import enqueue

Status = Delivery.Status

# Added to a countdown: when it fires, the task finds the wait over.
COUNTDOWN_MARGIN = 0.01


@dataclass(frozen=True)
class Paced:
    """The outcome of a claimed delivery that found no token: not an attempt."""

    wait: float


def claimable(now: datetime) -> Q:
    """Deliveries a claim may take now, beside the outbox's own due rule: not waiting for
    a token, and the head of their destination (or unpaced)."""
    holding = Delivery.objects.filter(
        destination=OuterRef("destination"),
        pk__lt=OuterRef("pk"),
    ).filter(
        Q(status__in=[Status.QUEUED, Status.SENDING])
        | Q(status=Status.RETRYING, holds_order_until__gt=now)
    )
    not_paced = Q(paced_until__isnull=True) | Q(paced_until__lte=now)
    return not_paced & (Q(destination="") | ~Exists(holding))


def take_tokens(deliveries: list[Delivery]) -> None:
    """Take each paced delivery's tokens; one without sets `paced_wait` (seconds), and
    every paced one keeps `pace_keys` (its buckets' keys, first the most specific)."""
    for delivery in deliveries:
        delivery.pace_keys = []
        delivery.paced_wait = None
        config = delivery.channel_config
        if not delivery.destination or config is None or delivery.channel_unpaced:
            continue
        if getattr(delivery, "suppression", None) is not None:
            continue  # never sent (it fails at once): it must not spend the next one's token
        buckets = pacing.buckets_for(
            delivery.account_id,
            not simulator.simulated(delivery),
            delivery.channel,
            config,
            delivery.target,
        )
        if not buckets:
            continue
        keyed = [(bucket.key(delivery.channel), bucket.rate, bucket.burst) for bucket in buckets]
        delivery.pace_keys = [key for key, _, _ in keyed]
        wait = store.take(keyed, get_integration(delivery.channel).pacing_cost(delivery.segments))
        if wait > 0:
            delivery.paced_wait = wait


def reordered(deliveries: list[Delivery]) -> dict[str, str]:
    """ "sent ahead of …" for claimed deliveries that overtake an older, retrying one of
    their destination (its hold ran out): the timeline says so."""
    destinations = {d.destination for d in deliveries if d.destination}
    if not destinations:
        return {}
    retrying = list(
        Delivery.objects.filter(destination__in=destinations, status=Status.RETRYING)
        .order_by("pk")
        .values_list("destination", "pk")
    )
    notes = {}
    hold = settings.ONEPING_PACING_ORDER_WAIT_SECONDS
    for delivery in deliveries:
        passed = [pk for dest, pk in retrying if dest == delivery.destination and pk < delivery.pk]
        if passed:
            notes[delivery.pk] = (
                f"sent ahead of {', '.join(passed)}: retrying for longer than the "
                f"{hold} s a retry holds the later deliveries of its destination"
            )
    return notes


def apply_paced(delivery: Delivery, paced: Paced, now: datetime) -> TimelineEntry | None:
    """Back to queued until its token (fields saved by the caller); its claim's attempt is
    given back. The timeline entry, the first time it waits since it was last sent."""
    first = delivery.paced_until is None
    until = now + timedelta(seconds=paced.wait)
    delivery.status = Status.QUEUED
    delivery.attempts = max(delivery.attempts - 1, 0)
    delivery.paced_until = until
    if paced.wait <= settings.ONEPING_MAX_COUNTDOWN_SECONDS:
        # The sweep sees it as enqueued at its time: not lost before then.
        delivery.enqueued_at = until
        countdown = paced.wait + COUNTDOWN_MARGIN
        transaction.on_commit(lambda: enqueue([delivery.pk], countdown=countdown))
    else:
        # Too long for a countdown task (oneping.queueing): the sweep, which enqueues a
        # queued row ONEPING_OUTBOX_SWEEP_AFTER_SECONDS after its enqueued_at, brings it
        # back once its time has come.
        delivery.enqueued_at = until - timedelta(
            seconds=settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS
        )
    if not first:
        return None
    return TimelineEntry(
        delivery=delivery,
        status=Status.QUEUED,
        attempt=delivery.attempts,
        detail=f"paced until {until.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}"
        f" ({paced.wait:.2f} s): the {delivery.channel} destination's rate",
    )


def after_attempt(delivery: Delivery, outcome: SendResult | TransportError, now: datetime) -> None:
    """What an attempt's outcome means for its destination's order and buckets (fields
    saved by the caller): a transient failure starts the hold on later deliveries; a 429 or
    an announced window pauses the first bucket."""
    delivery.paced_until = None
    delivery.hold_started = False
    if isinstance(outcome, TransportError) and not outcome.permanent:
        if delivery.destination and delivery.holds_order_until is None:
            # At least as long as the provider asked to wait: a paused destination resumes
            # with the delivery it refused.
            hold = settings.ONEPING_PACING_ORDER_WAIT_SECONDS
            if outcome.retry_after:
                hold = max(hold, outcome.retry_after + 5)
            delivery.holds_order_until = now + timedelta(seconds=hold)
            delivery.hold_started = True
    else:
        delivery.holds_order_until = None
    pause = _pause_of(outcome)
    keys = getattr(delivery, "pace_keys", None)
    if pause and keys:
        store.pause(keys[:1], pause)


def _pause_of(outcome: SendResult | TransportError) -> float | None:
    if isinstance(outcome, SendResult):
        return outcome.pause_for
    if not outcome.permanent and outcome.retry_after:
        return outcome.retry_after
    return None


def hand_off(ended: list[Delivery], held: list[Delivery], now: datetime) -> None:
    """Enqueue the next delivery of each destination whose head just ended (for when its
    first bucket has a token again) or started holding the others (for when its hold runs
    out), once the caller commits."""
    for delivery in ended:
        delivery.holds_order_until = None  # saved with the outcome's other fields
    next_up = {
        d.destination: (getattr(d, "pace_keys", None) or [None])[0] for d in ended if d.destination
    }
    if next_up:
        transaction.on_commit(lambda: _enqueue_heads(next_up))
    for delivery in held:
        if getattr(delivery, "hold_started", False):
            wait = (delivery.holds_order_until - now).total_seconds() + COUNTDOWN_MARGIN
            keys = {delivery.destination: None}
            transaction.on_commit(lambda keys=keys, wait=wait: _enqueue_heads(keys, wait))


def _enqueue_heads(destinations: dict[str, str | None], countdown: float | None = None) -> None:
    """The oldest queued delivery of each destination, unless it waits for a token (its
    own countdown task is on the way). Without a `countdown`, each is enqueued for when its
    destination's bucket (the key given) has a token: a task sent at once would find none
    and cost a round trip to the queue and back before the real wait."""
    firsts = (
        Delivery.objects.filter(destination__in=list(destinations), status=Status.QUEUED)
        .values("destination")
        .annotate(first=Min("pk"))
        .values_list("first", flat=True)
    )
    now = timezone.now()
    ready = list(
        Delivery.objects.filter(pk__in=list(firsts))
        .filter(Q(paced_until__isnull=True) | Q(paced_until__lte=now))
        .values_list("pk", "destination")
    )
    if not ready:
        return
    if countdown is not None:
        enqueue([pk for pk, _ in ready], countdown=countdown)
        return
    keys = [destinations[dest] for _, dest in ready if destinations.get(dest)]
    states = store.peek(keys) if keys else {}
    clock = time.time()
    for pk, dest in ready:
        state = states.get(destinations.get(dest) or "")
        wait = state["next_token_at"] - clock if state else 0.0
        # Capped: a pause ends by the delivery's own paced wait, not by this task.
        enqueue([pk], countdown=min(wait, 5.0) + COUNTDOWN_MARGIN if wait > 0 else None)
