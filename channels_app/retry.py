"""When to try a failed delivery again."""

import random

from django.conf import settings


def retry_schedule() -> list[float]:
    """Seconds to wait before attempts 2, 3, …; its length sets how many retries there are."""
    return list(settings.ONEPING_DELIVERY_RETRY_SCHEDULE)


def next_delay(attempts_made: int, retry_after: float | None = None) -> float:
    """The wait before the next attempt: the schedule's step with ±20 % jitter, so retries
    of many deliveries failing together spread out, but never shorter than the provider
    asked for (Retry-After, Telegram's parameters.retry_after, Discord's retry_after)."""
    schedule = retry_schedule()
    step = schedule[min(attempts_made, len(schedule)) - 1]
    delay = step * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not a secret)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
