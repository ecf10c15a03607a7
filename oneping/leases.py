"""Claiming a row of an outbox table so exactly one worker works on it.

The claim is one conditional UPDATE: of two workers holding the same task, one updates the
row and the other updates nothing. The claim carries a lease; a worker that dies mid-send
leaves a row whose lease runs out, and the sweep hands it to another worker.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import F, Model, Q, QuerySet


def claim(
    model: type[Model],
    pk: str,
    *,
    claimable: Q,
    claimed_status: str,
    lease_seconds: float,
    now: datetime,
) -> bool:
    lease_expired = Q(status=claimed_status, lease_expires_at__lt=now)
    return bool(
        model.objects.filter(claimable | lease_expired, pk=pk).update(
            status=claimed_status,
            attempts=F("attempts") + 1,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
    )


def claim_batch(
    model: type[Model],
    pks: list[str],
    *,
    claimable: Q,
    claimed_status: str,
    lease_seconds: float,
    now: datetime,
    waiting: QuerySet | None = None,
    more: int = 0,
) -> list[str]:
    """Claim the rows `pks` that are claimable, and up to `more` rows of `waiting` (rows
    whose own task is still in the queue): under a backlog one task takes several, and
    the tasks that come later find their rows taken and cost one SELECT. Returns the ids.

    The caller holds a transaction. SELECT … FOR UPDATE SKIP LOCKED keeps two workers off
    each other's rows without waiting; `claimable` sits in the outer WHERE so PostgreSQL
    checks it again on the row it locks (a row claimed and committed by another worker
    after this statement began is not taken twice). SQLite has no row locks: its
    transactions are IMMEDIATE (settings.py), so claims run one at a time there.
    Every claimed row gets the same lease_expires_at, which identifies the claim later.
    """
    lease_expired = Q(status=claimed_status, lease_expires_at__lt=now)
    wanted = Q(pk__in=pks)
    if waiting is not None and more > 0:
        wanted |= Q(pk__in=waiting.exclude(pk__in=pks).values("pk")[:more])
    ids = list(
        # of=self: lock only these rows, not those of tables a filter joins (endpoints).
        model.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(wanted, claimable | lease_expired)
        .values_list("pk", flat=True)
    )
    if ids:
        model.objects.filter(pk__in=ids).update(
            status=claimed_status,
            attempts=F("attempts") + 1,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
    return ids


def lost_or_due(
    *, waiting: list[str], retrying: str | None, claimed: str, now: datetime, stale: datetime
) -> Q:
    """Rows the sweep must enqueue: waiting but never (or long ago) handed to the broker,
    retries that are due and not yet enqueued for it, and claims whose lease ran out."""
    lost = (
        Q(status__in=waiting, enqueued_at__isnull=True)
        | Q(status__in=waiting, enqueued_at__lt=stale)
        | Q(status=claimed, lease_expires_at__lt=now)
    )
    if retrying is None:
        return lost
    due = Q(status=retrying, next_attempt_at__lte=now) & (
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale)
    )
    return lost | due


def interrupted_too_often(*, claimed: str, now: datetime, times: int) -> Q:
    """Claims whose lease ran out on the `times`-th claim of the row: a finished claim
    moves a row out of `claimed`, so each of those claims ended with its worker gone (killed,
    out of memory, restarted). A row that keeps killing workers (a poison row) would come
    back from the sweep forever; the caller fails these instead. Only for tables whose
    `attempts` counts the claims since the row last became waiting (inbound events: reset
    when reprocessed)."""
    return Q(status=claimed, lease_expires_at__lt=now, attempts__gte=times)


def enqueue_swept(
    rows: QuerySet, enqueue: Callable[[list[str]], None], now: datetime, batch: int = 500
) -> int:
    """Hand the oldest `batch` rows of a sweep to the workers, marking them enqueued now so
    the next sweep leaves them alone for a while."""
    ids = list(rows.order_by("enqueued_at").values_list("pk", flat=True)[:batch])
    if ids:
        rows.model.objects.filter(pk__in=ids).update(enqueued_at=now)
        enqueue(ids)
    return len(ids)
