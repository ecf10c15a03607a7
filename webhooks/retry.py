"""When to try a failed webhook delivery again (oneping/retry.py)."""

from django.conf import settings

from oneping.retry import RetryPolicy


def policy() -> RetryPolicy:
    """Read at each use: settings can change under tests and between deploys."""
    return RetryPolicy(tuple(settings.ONEPING_WEBHOOK_RETRY_SCHEDULE), jitter=0.1)
