"""How an outbox row (a delivery, a webhook delivery) is tried again: one policy shape for
every kind, each kind naming its schedule and jitter in settings."""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """`schedule`: seconds before attempts 2, 3, … (its length sets how many retries there
    are). `jitter`: each wait is the step times (1 ± jitter), so rows that failed together do
    not all come back at once. A wait is never shorter than the receiver asked for
    (Retry-After, Telegram's parameters.retry_after, Discord's retry_after)."""

    schedule: tuple[float, ...]
    jitter: float

    @property
    def max_attempts(self) -> int:
        """The first, immediate try and one per step."""
        return 1 + len(self.schedule)

    def next_delay(self, attempts_made: int, retry_after: float | None = None) -> float:
        step = self.schedule[min(attempts_made, len(self.schedule)) - 1]
        delay = step * random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311 (jitter, not a secret)
        return max(delay, retry_after) if retry_after is not None else delay
