"""How an outbox row (a delivery, a webhook delivery) is tried again: one policy shape for
every kind, each kind naming its schedule and jitter in settings."""

import random
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class RetryPolicy:
    """`schedule`: seconds before attempts 2, 3, … (its length sets how many retries there
    are). `jitter`: each wait is the step times (1 ± jitter), so rows that failed together do
    not all come back at once. `honour_retry_after`: a wait is never shorter than the
    receiver asked for (Retry-After, RFC 9110 §10.2.3; Telegram's parameters.retry_after,
    Discord's retry_after)."""

    schedule: tuple[float, ...]
    jitter: float
    honour_retry_after: bool = True

    @property
    def max_attempts(self) -> int:
        """The first, immediate try and one per step: the one max-attempts formula."""
        return 1 + len(self.schedule)

    def next_delay(self, attempts_made: int, retry_after: float | None = None) -> float:
        step = self.schedule[min(attempts_made, len(self.schedule)) - 1]
        delay = step * random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311 (jitter, not a secret)
        if retry_after is not None and self.honour_retry_after:
            return max(delay, retry_after)
        return delay


@dataclass(frozen=True)
class PolicySettings:
    """A kind's retry policy by the names of its settings. Calling it reads them: settings
    change under tests and between deploys, so no value is kept at import time."""

    schedule: str
    jitter: str
    honour_retry_after: bool = True

    def __call__(self) -> RetryPolicy:
        return RetryPolicy(
            tuple(getattr(settings, self.schedule)),
            getattr(settings, self.jitter),
            self.honour_retry_after,
        )
