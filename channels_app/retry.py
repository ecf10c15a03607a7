"""When to try a failed delivery again: the deliveries outbox's policy, named in settings
(oneping/retry.py). Here, not in the worker, so the accept side can size a delivery's
attempts without importing the worker."""

from oneping.retry import PolicySettings

policy = PolicySettings(
    schedule="ONEPING_DELIVERY_RETRY_SCHEDULE", jitter="ONEPING_DELIVERY_RETRY_JITTER"
)


def max_attempts(retry: bool) -> int:
    """A message sent with `retry: false` gets its one try only."""
    return policy().max_attempts if retry else 1
