"""Handing work to Celery workers, for every outbox table (oneping/outbox/).

Rows are the source of truth; a task only says "look at row X now". Tasks are sent by name
so services need not import task modules. A broker outage loses nothing: the rows stay due
and each app's outbox sweep enqueues them again.

Waits up to MAX_COUNTDOWN_SECONDS ride on the broker as countdown tasks; longer ones are
left to the sweep (which runs every minute). Long countdowns would sit unacknowledged in a
worker, and Redis redelivers those after its visibility timeout (an hour by default).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from oneping.celery import app
from oneping.parallel import THREADS

logger = logging.getLogger(__name__)


# A retry's countdown task may start a little before the row's next_attempt_at (the clock
# of the worker that scheduled it is not this one's): it may claim the row this early, if
# the row still waits for the retry it was scheduled for. Any other task for the row (its
# first task, still queued while a batch took the row; a countdown whose retry another
# task already made; a swept one) waits for next_attempt_at itself, so a retry is never
# sent before its time.
SCHEDULED_EARLY = timedelta(seconds=1)


def enqueue(
    task_name: str,
    ids: list[str],
    countdown: float | None = None,
    retry_of: int | None = None,
) -> None:
    """One task per row, in the shape every outbox task takes (a list of ids; see
    oneping.outbox.Outbox.run_task). `retry_of`: the attempts the row had when this retry
    was scheduled (see SCHEDULED_EARLY)."""
    kwargs = {"retry_of": retry_of} if retry_of is not None else None
    for row_id in ids:
        try:
            app.send_task(task_name, args=[[row_id]], kwargs=kwargs, countdown=countdown)
        except Exception:
            logger.warning("broker unavailable; %s is left to the outbox sweep", row_id)
            return


def enqueue_together(task_name: str, ids: list[str]) -> None:
    """One task per few rows (the task takes a list and sends them side by side).

    At most parallel.THREADS rows a task, so a task's sends all run at once and finish
    within one timeout, well inside the lease each row was claimed with."""
    for start in range(0, len(ids), THREADS):
        chunk = ids[start : start + THREADS]
        try:
            app.send_task(task_name, args=[chunk])
        except Exception:
            logger.warning("broker unavailable; %s left to the outbox sweep", ", ".join(chunk))
            return


def retry_due(status: str, now: datetime, retry_of: int | None) -> Q:
    """Rows in `status` (retrying) whose next attempt a task may make now."""
    due = Q(status=status, next_attempt_at__lte=now)
    if retry_of is not None:
        due |= Q(status=status, attempts=retry_of, next_attempt_at__lte=now + SCHEDULED_EARLY)
    return due


def plan_retry(delay: float, now: datetime | None = None) -> tuple[datetime, datetime | None, bool]:
    """(next_attempt_at, enqueued_at, use_countdown) for a retry `delay` seconds from now.

    enqueued_at None tells the sweep to enqueue the row once it is due."""
    now = now or timezone.now()
    due = now + timedelta(seconds=delay)
    if delay <= settings.ONEPING_MAX_COUNTDOWN_SECONDS:
        return due, due, True
    return due, None, False
