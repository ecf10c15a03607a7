"""When to try a failed webhook delivery again: the webhook outbox's policy, named in
settings (oneping/retry.py). Here, not in the worker, so event fan-out and replay can size
a webhook delivery's attempts without importing the worker."""

from oneping.retry import PolicySettings

policy = PolicySettings(
    schedule="ONEPING_WEBHOOK_RETRY_SCHEDULE", jitter="ONEPING_WEBHOOK_RETRY_JITTER"
)
