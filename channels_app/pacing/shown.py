"""What the API's channel answer and the channel page say about a channel's pacing
(this package): its rates, how many deliveries wait, and whether a provider paused it.

Read-only, and cheap for a list: one query counts the waiting deliveries of every channel
shown, and one store call reads every main bucket.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone

from accounts import environments
from channels_app import pacing
from channels_app.integrations import get_integration
from channels_app.models import ChannelConfig, Delivery
from channels_app.pacing import gate, store


def buckets_of(channel: ChannelConfig) -> list[pacing.Bucket]:
    """The buckets of the channel's main destination (its default address, or its own
    webhook): [] when its kind declares none or an operator made it unpaced. A test
    environment's channel is paced by the simulator's buckets instead."""
    if channel.unpaced:
        return []
    target = get_integration(channel.kind).default_address(channel.config) or ""
    live = environments.is_live(channel.account_id)
    return pacing.buckets_for(channel.account_id, live, channel.kind, channel.config, target)


def waiting_counts(channels: Sequence[ChannelConfig]) -> dict[str, int]:
    """Per channel id: its queued deliveries that wait for a token (paced_until ahead) or
    behind their destination's head. One query for all of them."""
    if not channels:
        return {}
    by_kind = {(c.account_id, c.kind): c.pk for c in channels}
    rows = (
        Delivery.objects.filter(
            account__in={c.account_id for c in channels},
            channel__in={c.kind for c in channels},
            status=Delivery.Status.QUEUED,
        )
        .exclude(destination="")
        # Not claimable now: its token is ahead, or an older delivery of its destination
        # is in flight (the claim's own rule, negated).
        .exclude(gate.claimable(timezone.now()))
        .values("account_id", "channel")
        .annotate(waiting=Count("pk"))
    )
    counts = dict.fromkeys(by_kind.values(), 0)
    for row in rows:
        channel_id = by_kind.get((row["account_id"], row["channel"]))
        if channel_id is not None:
            counts[channel_id] = row["waiting"]
    return counts


def pacing_states(
    channels: Sequence[ChannelConfig], *, with_waiting: bool = True
) -> dict[str, dict[str, Any]]:
    """Per channel id, the answer's `pacing` object (see ChannelConfigSerializer)."""
    buckets = {c.pk: buckets_of(c) for c in channels}
    main_keys = {pk: b[0].key(c.kind) for c in channels if (pk := c.pk) and (b := buckets[pk])}
    peeked = store.peek(list(main_keys.values())) if main_keys else {}
    waiting = waiting_counts(channels) if with_waiting else {}
    states = {}
    for channel in channels:
        of_channel = buckets[channel.pk]
        paused = peeked.get(main_keys.get(channel.pk, ""), {}).get("paused_until")
        state: dict[str, Any] = {
            "paced": bool(of_channel),
            "max_per_second": channel.config.get(pacing.RATE_FIELD),
            # Scope, rate and burst only: a bucket's ident may be a secret (a webhook URL).
            "rates": [
                {"scope": b.scope, "per_second": b.rate, "burst": b.burst} for b in of_channel
            ],
            "paused_until": _paused(paused),
        }
        if with_waiting:
            state["waiting"] = waiting.get(channel.pk, 0)
        states[channel.pk] = state
    return states


def _paused(until: float | None) -> datetime | None:
    """A pause still ahead, as a time; None when there is none or it is over."""
    if not until:
        return None
    at = datetime.fromtimestamp(until, tz=UTC)
    return at if at > timezone.now() else None
