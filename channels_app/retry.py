"""When to try a failed delivery again (oneping/retry.py)."""

from django.conf import settings

from oneping.retry import RetryPolicy


def policy() -> RetryPolicy:
    """Read at each use: settings can change under tests and between deploys."""
    return RetryPolicy(tuple(settings.ONEPING_DELIVERY_RETRY_SCHEDULE), jitter=0.2)


def next_delay(attempts_made: int, retry_after: float | None = None) -> float:
    return policy().next_delay(attempts_made, retry_after)


def max_attempts(retry: bool) -> int:
    """A message sent with `retry: false` gets its one try only."""
    return policy().max_attempts if retry else 1
