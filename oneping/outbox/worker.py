"""One worker for every outbox table: claim → act → record → retry later or dead-letter → sweep.

An outbox table's rows are the source of truth; a Celery task only says "look at these rows
now" (oneping.queueing). Each kind of row — deliveries, webhook deliveries, inbound events —
is declared once as an Outbox: its model and statuses, its task, the setting naming its
lease, its retry policy, and the functions only it knows: `load` (the claimed rows as it
needs them), `act` (the outside-world part: send, POST, process) and `record` (write what
happened). The rest lives here once:

- claiming with a lease (oneping.leases): under a backlog a task also takes up to `more` of
  the oldest waiting rows, whose own tasks then find them taken (CLAIM_BATCH);
- acting on the claimed rows side by side, outside any transaction (oneping.parallel), and
  recording their outcomes in groups as they come;
- "still ours" (Claim.still_ours): a row whose lease ran out may have been swept and
  claimed again by another worker, which records it instead;
- retrying (Outbox.retry_later): the kind's RetryPolicy picks the wait, and
  oneping.queueing.plan_retry whether a countdown task or the sweep brings the row back;
  a row out of attempts is a dead letter;
- sweeping (Outbox.sweep): rows whose task was lost, retries now due, claims whose lease
  ran out and, where the kind caps them, rows that keep killing their workers.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from oneping import leases, parallel, queueing
from oneping.retry import RetryPolicy

logger = logging.getLogger(__name__)

# Rows one task claims under a backlog: two rounds of the process's send threads, so even
# sends that all run into the HTTP timeouts end well inside the lease.
CLAIM_BATCH = 2 * parallel.THREADS


@dataclass(frozen=True, eq=False)
class Outbox:
    """A kind of outbox row, declared as data; the worker's steps are its methods.

    Statuses: `waiting` (its task is, or should be, in the queue), `claimed` (a worker
    holds it under a lease), `retrying` (waiting for a scheduled retry; None for a kind that
    never retries). `lease_setting` names the setting with the lease's seconds, read at
    each claim. `receiving`: rows that may be claimed and swept at all (webhook deliveries
    of a disabled endpoint wait).

    `load(ids)` runs in the claim's transaction (a kind may record "claimed" with it) and
    looks up whatever `act` needs from the database. `act(row)` must not raise (a failure is
    an outcome) and, when several rows were claimed, runs in another thread, where it must
    not use the database. `record(outcomes, claim)` writes a group of outcomes, keeping only
    those still ours (Claim.still_ours) and planning retries (Outbox.retry_later).

    `batch`: with 0, each row is claimed alone (one UPDATE) and acted on in the task's own
    thread, so its `act` may write to the database (inbound events start messages).
    `max_interruptions` names the setting capping how many claims of a row may end with
    their worker gone; `give_up(rows, now)` fails such rows and says how many.
    `claim_filter(now)`: a further condition on the rows a claim takes (not on a claim
    whose lease ran out: that row was taken already).
    """

    name: str
    model: type[Model]
    task_name: str
    waiting: str
    claimed: str
    retrying: str | None
    lease_setting: str
    load: Callable[[list[str]], list[Any]]
    act: Callable[[Any], Any]
    record: Callable[[list[tuple[Any, Any]], "Claim"], None]
    policy: Callable[[], RetryPolicy] | None = None
    receiving: Q = field(default_factory=Q)
    batch: int = CLAIM_BATCH
    max_interruptions: str | None = None
    give_up: Callable[[Q, datetime], int] | None = None
    # More conditions on the rows a claim may take now, beside being due (the deliveries'
    # pacing: not waiting for a token, the head of their destination).
    claim_filter: Callable[[datetime], Q] | None = None

    def run_task(self, ids: list[str] | str, retry_of: int | None = None) -> None:
        """The body of the kind's Celery task: its rows and, under a backlog, others."""
        # A task used to carry one bare id (every inbound event; a retry's countdown, a
        # fallback and a swept row of the other kinds). Such messages may still wait in the
        # queue, or as countdowns held by a worker, when this code is deployed: read as one.
        if isinstance(ids, str):
            ids = [ids]
        self.attempt_many(ids, more=max(0, self.batch - len(ids)), retry_of=retry_of)

    def attempt(self, pk: str) -> None:
        """One row, as its retry's countdown task would (up to SCHEDULED_EARLY before it is
        due). For tests and tools; the Celery task calls run_task."""
        retry_of = None
        if self.retrying is not None:
            attempts = self.model.objects.filter(pk=pk).values_list("attempts", flat=True)
            retry_of = attempts.first()
        self.attempt_many([pk], retry_of=retry_of)

    def attempt_many(self, ids: list[str], *, more: int = 0, retry_of: int | None = None) -> None:
        """Act on the rows that are still due, and up to `more` others that wait in the
        queue. `retry_of`: the task is a retry's countdown (oneping.queueing.SCHEDULED_EARLY)."""
        ids = list(dict.fromkeys(ids))
        if not self.batch:
            for pk in ids:
                self._work(self._claim_one(pk, retry_of))
            return
        self._work(self._claim(ids, more, retry_of))

    def _work(self, claim: "Claim | None") -> None:
        if claim is None:
            return
        for outcomes in parallel.side_by_side(claim.rows, self.act):
            self.record(outcomes, claim)

    def _terms(self, now: datetime, retry_of: int | None) -> dict[str, Any]:
        """What a claim of this kind takes: which rows, the status and lease it gives them."""
        due = Q(status=self.waiting)
        if self.retrying is not None:
            due |= queueing.retry_due(self.retrying, now, retry_of)
        if self.claim_filter is not None:
            due &= self.claim_filter(now)
        return {
            "claimable": due & self.receiving,
            "claimed_status": self.claimed,
            "lease_seconds": getattr(settings, self.lease_setting),
            "now": now,
        }

    def _claim(self, ids: list[str], more: int, retry_of: int | None) -> "Claim | None":
        now = timezone.now()
        waiting = self.model.objects.filter(status=self.waiting).order_by("enqueued_at")
        if self.claim_filter is not None:
            waiting = waiting.filter(self.claim_filter(now))
        terms = self._terms(now, retry_of)
        with transaction.atomic():
            claimed = leases.claim_batch(self.model, ids, **terms, waiting=waiting, more=more)
            if not claimed:
                return None  # final, not due yet, or another worker holds them
            return self._loaded(claimed, now)

    def _claim_one(self, pk: str, retry_of: int | None) -> "Claim | None":
        now = timezone.now()
        if not leases.claim(self.model, pk, **self._terms(now, retry_of)):
            return None  # done already, or another worker has it
        return self._loaded([pk], now)

    def _loaded(self, claimed: list[str], now: datetime) -> "Claim | None":
        rows = self._without_poison(self.load(claimed), now)
        return Claim(self, rows) if rows else None

    def _without_poison(self, rows: list[Any], now: datetime) -> list[Any]:
        """The rows to act on; those past the interruption cap are failed instead."""
        if self.max_interruptions is None:
            return rows
        cap = getattr(settings, self.max_interruptions)
        # Every earlier claim of such a row ended with its lease running out: it killed the
        # workers that took it, and a task the sweep did not stop (the broker redelivered it)
        # brings it here. Not one more try: the sweep's rule (sweep), one claim later.
        poisoned = [row.pk for row in rows if row.attempts - 1 >= cap]
        if not poisoned:
            return rows
        self.give_up(Q(pk__in=poisoned, status=self.claimed), now)
        return [row for row in rows if row.attempts - 1 < cap]

    def retry_later(self, row: Any, retry_after: float | None, now: datetime) -> float | None:
        """Plan the row's next attempt (saved by the caller): status, due time and, once
        the caller's transaction commits, the countdown task that brings it back, or none
        for a wait the sweep should take (oneping.queueing). Returns the wait, or None when
        the row has used its attempts: the caller makes it a dead letter."""
        if row.attempts >= row.max_attempts:
            return None
        delay = self.policy().next_delay(row.attempts, retry_after)
        due, enqueued_at, use_countdown = queueing.plan_retry(delay, now)
        row.status, row.next_attempt_at, row.enqueued_at = self.retrying, due, enqueued_at
        if use_countdown:
            transaction.on_commit(
                partial(self.enqueue, [row.pk], countdown=delay, retry_of=row.attempts)
            )
        return delay

    def enqueue(
        self, ids: list[str], countdown: float | None = None, retry_of: int | None = None
    ) -> None:
        queueing.enqueue(self.task_name, ids, countdown, retry_of)

    def sweep(self, batch: int = 500) -> int:
        """Enqueue rows whose task was lost (accepted while the broker was down, a retry
        whose timer died with its worker, a claim whose worker died mid-act) and retries
        too far ahead for a countdown task, once due; fail rows past the interruption cap."""
        now = timezone.now()
        if self.max_interruptions is not None:
            times = getattr(settings, self.max_interruptions)
            poisoned = leases.interrupted_too_often(claimed=self.claimed, now=now, times=times)
            given_up = self.give_up(poisoned, now)
            if given_up:
                logger.warning(
                    "outbox sweep: %d %s failed after repeated interruptions", given_up, self.name
                )
        lost = leases.lost_or_due(
            waiting=[self.waiting],
            retrying=self.retrying,
            claimed=self.claimed,
            now=now,
            stale=now - timedelta(seconds=settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS),
        )
        rows = self.model.objects.filter(lost & self.receiving)
        if self.claim_filter is not None:
            # Only rows a claim would take: not, say, deliveries behind their
            # destination's head, whose tasks would find nothing to do.
            rows = rows.filter(Q(status=self.claimed) | self.claim_filter(now))
        swept = leases.enqueue_swept(rows, self.enqueue, now, batch)
        if swept:
            logger.info("outbox sweep: enqueued %d %s", swept, self.name)
        return swept


@dataclass(eq=False)
class Claim:
    """The rows one task claimed; every row of one claim has the same lease_expires_at,
    which identifies the claim later (oneping.leases.claim_batch)."""

    outbox: Outbox
    rows: list[Any]
    # Taken now: recording clears lease_expires_at on the objects, and a second try at
    # recording (the deliveries' per-message one) still needs the claim's own.
    leases: dict[str, datetime | None] = field(init=False)

    def __post_init__(self) -> None:
        self.leases = {row.pk: row.lease_expires_at for row in self.rows}

    def still_ours(self, outcomes: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        """The outcomes whose rows this claim still holds, locked until the caller's
        transaction ends: claimed, with this claim's lease. A row whose lease ran out may
        have been swept and claimed again by another worker; that worker records it."""
        outbox = self.outbox
        ours = set(
            outbox.model.objects.select_for_update()
            .filter(pk__in=[row.pk for row, _ in outcomes], status=outbox.claimed)
            .values_list("pk", "lease_expires_at")
        )
        return [
            (row, outcome) for row, outcome in outcomes if (row.pk, self.leases[row.pk]) in ours
        ]
