"""A request rate with a burst, counted in the shared cache (Redis in production, so every
web process counts together).

A sliding window estimate (as Cloudflare describes it,
https://blog.cloudflare.com/counting-things-a-lot-of-different-things/): windows of
burst / rate seconds, each one counter; a request is admitted while the previous window's
count, weighted by the part of it still inside the sliding window, plus the current
window's count stays within `burst`. So `burst` requests may come at once, `rate` per
second on average, and it costs one atomic increment and one read per request (a token
bucket would need a compare-and-set that Django's cache API does not offer).
A refused request is not counted: a sender slightly over the rate gets through at the rate.
"""

import math
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache


def hit(name: str, *, rate: float, burst: int) -> float | None:
    """Count one request against `name`: None if admitted, else the seconds until one
    would be. A rate of 0 (or less) admits everything."""
    if rate <= 0 or burst <= 0:
        return None
    window = burst / rate
    index, into = divmod(time.time(), window)
    fraction = into / window
    current_key = f"ratelimit:{name}:{int(index)}"
    # Kept two windows (the next window reads it as its previous one), plus a margin.
    expiry = math.ceil(window * 2) + 5
    cache.add(current_key, 0, timeout=expiry)  # no-op if the window has its counter
    try:
        current = cache.incr(current_key)
    except ValueError:  # expired between add() and incr(): start the count again
        cache.add(current_key, 1, timeout=expiry)
        current = 1
    previous = cache.get(f"ratelimit:{name}:{int(index) - 1}") or 0
    if previous * (1 - fraction) + current <= burst:
        return None
    with suppress(ValueError):
        cache.decr(current_key)
    return _wait(previous, current - 1, fraction, window, burst)


def _wait(previous: int, current: int, fraction: float, window: float, burst: int) -> float:
    """Seconds until previous * (1 - f) + current + 1 <= burst, f moving through this
    window and then the next (where `current` becomes the previous count)."""
    room = burst - current - 1
    if room >= 0 and previous > 0:
        needed = 1 - room / previous
        if needed <= 1:
            return max(needed - fraction, 0.0) * window
    needed_next = max(1 - (burst - 1) / current, 0.0) if current else 0.0
    return (1 - fraction) * window + needed_next * window


@dataclass(frozen=True)
class Limit:
    """One rate a receiver enforces: `scope` names it for people ("endpoint", "account"),
    `name` is its counter in the cache."""

    scope: str
    name: str
    rate: float
    burst: int


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    retry_after: int  # whole seconds, at least 1 (the Retry-After header's)

    @property
    def details(self) -> dict[str, Any]:
        """The 429's details in the documented error shape."""
        limit = self.limit
        return {
            "limit": limit.scope,
            "rate": limit.rate,
            "burst": limit.burst,
            "retry_after": self.retry_after,
        }

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}

    def message(self, whose: str) -> str:
        """The 429's message; `whose` says what is limited ("This inbound URL accepts")."""
        return (
            f"{whose} at most {self.limit.rate:g} requests a second (bursts of "
            f"{self.limit.burst}). Retry after the time in the Retry-After header."
        )


def first_exceeded(limits: list[Limit]) -> Refusal | None:
    """Count the request against each limit in order; the first one it is over, if any.
    The narrowest limit comes first, so a flood on one URL is refused before it counts
    against the wider ones (the account's other URLs)."""
    for limit in limits:
        wait = hit(limit.name, rate=limit.rate, burst=limit.burst)
        if wait is not None:
            return Refusal(limit, max(1, math.ceil(wait)))
    return None
