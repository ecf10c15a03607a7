"""Pacing: every destination gets messages no faster than its provider allows, in order.

Each integration declares the buckets a delivery takes a token from (Integration.pacing):
a chat app's per bot and per chat, a chat webhook's per URL, a phone sender's in segments… A
bucket is a GCRA token bucket (capacity `burst`, `rate` tokens a second) in a store every
worker shares (store.py: Redis, or the database on the embedded default).

Order: a delivery's `destination` (set when it is accepted) names the most specific place
it goes to; only the oldest in-flight delivery of a destination is claimed (gate.py), so
deliveries leave in acceptance order, and one that waits for a token holds the later ones
without any worker waiting: it goes back to `queued` with `paced_until`, and one task
brings it back then.
"""

import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channels_app.models import ChannelConfig


@dataclass(frozen=True)
class Bucket:
    """One rate a delivery is paced by. `scope` says what it counts ("chat", "bot",
    "webhook", "sender", "pair", "channel"); `ident` what it is (a chat id, a webhook URL, a
    bot token: hashed into the key, never stored or shown). `rate`: tokens a second, as the
    provider publishes it (the store keeps ONEPING_PACING_HEADROOM under it); `burst`: the
    bucket's capacity (1: no two requests closer than 1/rate)."""

    scope: str
    ident: str
    rate: float
    burst: int = 1

    def key(self, kind: str) -> str:
        """The store's key: no secret, only a hash of what the bucket counts."""
        digest = hashlib.sha256(f"{kind}\0{self.scope}\0{self.ident}".encode()).hexdigest()
        return f"pace:{kind}:{self.scope}:{digest[:32]}"


def destination_key(account_id: str, kind: str, target: str) -> str:
    """Delivery.destination: deliveries with the same one leave in order."""
    digest = hashlib.sha256(f"{account_id}\0{kind}\0{target}".encode()).hexdigest()
    return f"{kind}:{digest[:40]}"[:64]


def buckets_for(
    account_id: str, live: bool, kind: str, config: dict[str, Any], target: str
) -> list[Bucket]:
    """The buckets a delivery to `target` through a channel of `kind` takes tokens from:
    its kind's (Integration.pacing: the provider's published rates), or, in a test
    environment (not `live`), the simulator's, whatever the kind: a test channel may have
    none of the provider config its kind's buckets read."""
    from channels_app.integrations import get_integration
    from channels_app.integrations.simulator import transport as simulator

    if not live:
        return simulator.pacing(account_id, kind, target)
    return get_integration(kind).pacing(config, target)


def destination_of(config: "ChannelConfig", target: str) -> str:
    """The destination a new delivery through `config` to `target` is ordered within: ""
    when it has no buckets (buckets_for), or an operator made it unpaced."""
    if config.unpaced or not buckets_for(
        config.account_id, config.account.livemode, config.kind, config.config, target
    ):
        return ""
    return destination_key(config.account_id, config.kind, target)


# A channel config's "max_per_second": the rate of its main destination (the bounds:
# lower to be gentle, higher where the customer's provider plan allows).
RATE_FIELD = "max_per_second"
MIN_RATE, MAX_RATE = 0.1, 10.0


def clean_rate(config: dict[str, Any], cleaned: dict[str, Any]) -> dict[str, Any]:
    """Copy a valid `max_per_second` from the submitted config into the cleaned one; raise
    ConfigError naming it when it is not a number between MIN_RATE and MAX_RATE."""
    from channels_app.integrations.base import ConfigError

    if config.get(RATE_FIELD) is None:
        return cleaned
    value = config[RATE_FIELD]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(RATE_FIELD, "Enter a number of messages a second, e.g. 1 or 0.5.")
    if not MIN_RATE <= value <= MAX_RATE:
        raise ConfigError(
            RATE_FIELD, f"Enter a rate between {MIN_RATE} and {MAX_RATE} messages a second."
        )
    return {**cleaned, RATE_FIELD: value}


def rate_of(config: dict[str, Any], default: float) -> float:
    """The config's max_per_second, else the provider's published rate."""
    value = config.get(RATE_FIELD)
    return float(value) if value else default
