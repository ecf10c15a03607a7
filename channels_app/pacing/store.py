"""The token buckets' store, shared by every worker process (channels_app.pacing).

TO BE WRITTEN (helper "pacestore"): GCRA (https://brandur.org/rate-limiting) over several
buckets at once, all-or-nothing; Redis (a Lua script, atomic) when the pacing store is
redis, else the database (PaceBucket rows, locked in key order).
"""

from collections.abc import Sequence


def take(buckets: Sequence[tuple[str, float, int]], cost: float = 1.0) -> float:
    """Take `cost` tokens from every bucket (key, rate, burst) if each has them: 0.0. Else
    take none and return the seconds until all would have them (pauses included)."""
    return 0.0


def pause(keys: Sequence[str], seconds: float) -> None:
    """No token from these buckets for `seconds` from now (a provider's 429 Retry-After,
    or a rate-limit window it announced as used up)."""


def peek(keys: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Each bucket's state for people: {"paused_until": epoch seconds or None,
    "next_token_at": epoch seconds (now or later)}; unknown keys are left out."""
    return {}
