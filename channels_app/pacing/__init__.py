"""Pacing: every destination gets messages no faster than its provider allows, in order.

Each integration declares the buckets a delivery takes a token from (Integration.pacing):
Telegram's per bot and per chat, Slack's per webhook URL, a phone sender's in segments… A
bucket is a GCRA token bucket (capacity `burst`, `rate` tokens a second) in a store every
worker shares (store.py: Redis, or the database on the embedded default).

Order: a delivery's `destination` (set when it is accepted) names the most specific place
it goes to; only the oldest in-flight delivery of a destination is claimed (gate.py), so
deliveries leave in acceptance order, and one that waits for a token holds the later ones
without any worker waiting: it goes back to `queued` with `paced_until`, and one task
brings it back then.
"""

import hashlib
from dataclasses import dataclass


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
