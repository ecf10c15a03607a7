"""The usage rollup (UsageRollup): deliveries counted per account, UTC month of the
message's acceptance, channel and status, kept up to date on write so the usage history
(channels_app.usage_history) never scans the message log.

Each delivery counts once, under its current status: +1 when accepted (count_created,
called by accepting) and, on each status change, -1 under the old status and +1 under the
new (count_changes, called by channels_app.timeline.record_many: every status change is
written to the timeline and announced there, so that is the one place that sees them all).
Statuses that are not final fold into "pending", so claims, pacing waits and retries, which
move a delivery between queued, sending and retrying without a timeline entry of their own
or with one, change nothing here.

The old status is the one the row held when it was read (Delivery.from_db keeps it as
`counted_status`) or last counted; a caller whose objects may outlive a rolled-back
transaction sets it again (channels_app.outcomes).

Writes are one INSERT … ON CONFLICT DO UPDATE SET count = count + excluded.count per
group (PostgreSQL and SQLite ≥ 3.24 both have it): atomic under concurrency, no read
first. The rows of one statement are taken in key order, and `together()` gathers the
changes of a whole transaction into one statement at its end, so two transactions never
lock the same rollup rows in opposite orders and the locks are held briefly.
"""

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncMonth

from channels_app.models import Delivery, UsageRollup

PENDING = "pending"
# The statuses the rollup keeps apart; any other counts as PENDING.
COUNTED = frozenset(Delivery.FINAL)

Key = tuple[int, date, str, str]

_gathering: ContextVar[Counter | None] = ContextVar("rollup_gathering", default=None)


def bucket(status: str) -> str:
    """The rollup's status for a delivery status: itself when final, else "pending"."""
    return status if status in COUNTED else PENDING


def month_of(moment: datetime) -> date:
    """The first day of the UTC month `moment` falls in."""
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def _key(delivery: Delivery, status: str) -> Key:
    # Deliveries are created with their message's created_at (accepting.build): the
    # month a delivery counts in is its message's, even when it settles months later.
    return (delivery.account_id, month_of(delivery.created_at), delivery.channel, bucket(status))


def count_created(deliveries: Iterable[Delivery]) -> None:
    """+1 for each new delivery under its status (in the caller's transaction)."""
    deltas: Counter = Counter()
    for delivery in deliveries:
        deltas[_key(delivery, delivery.status)] += 1
        delivery.counted_status = delivery.status
    _add(deltas)


def count_changes(deliveries: Iterable[Delivery]) -> None:
    """Move each delivery from the status it was counted under to its current one."""
    deltas: Counter = Counter()
    for delivery in deliveries:
        old = getattr(delivery, "counted_status", None)
        new = delivery.status
        if old is None:
            # Made in memory and saved without count_created (a fixture, a shell): it
            # was never counted, so it is counted now.
            deltas[_key(delivery, new)] += 1
        elif bucket(old) != bucket(new):
            deltas[_key(delivery, old)] -= 1
            deltas[_key(delivery, new)] += 1
        delivery.counted_status = new
    _add(deltas)


@contextmanager
def together() -> Iterator[None]:
    """Gather the counts of the block into one statement, written when the block ends
    without an error (inside the caller's transaction; nothing when it raises, as the
    transaction rolls back anyway)."""
    if _gathering.get() is not None:
        yield
        return
    deltas: Counter = Counter()
    token = _gathering.set(deltas)
    try:
        yield
    finally:
        _gathering.reset(token)
    _write(deltas)


def _add(deltas: Counter) -> None:
    gathering = _gathering.get()
    if gathering is None:
        _write(deltas)
    else:
        gathering.update(deltas)


def _write(deltas: Counter) -> None:
    rows = sorted((key, n) for key, n in deltas.items() if n)
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(UsageRollup._meta.db_table)
    count = quote("count")
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    for (account_id, month, channel, status), n in rows:
        params += [account_id, connection.ops.adapt_datefield_value(month), channel, status, n]
    with connection.cursor() as cursor:
        cursor.execute(
            # Only our own table and column names are interpolated; values are params.
            f"INSERT INTO {table} (account_id, month, channel, status, {count}) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (account_id, month, channel, status) "
            f"DO UPDATE SET {count} = {table}.{count} + excluded.{count}",
            params,
        )


def rebuild(delivery_model: type = Delivery, rollup_model: type = UsageRollup) -> int:
    """Count every delivery again from the log (the migration that adds the rollup runs
    this, with its historical models); returns how many rollup rows it wrote."""
    deltas: Counter = Counter()
    rows = (
        delivery_model.objects.annotate(month=TruncMonth("created_at", tzinfo=UTC))
        .values_list("account_id", "month", "channel", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for account_id, month, channel, status, n in rows:
        deltas[(account_id, month_of(month), channel, bucket(status))] += n
    rollup_model.objects.all().delete()
    rollup_model.objects.bulk_create(
        [
            rollup_model(account_id=a, month=m, channel=c, status=s, count=n)
            for (a, m, c, s), n in sorted(deltas.items())
        ],
        batch_size=1000,
    )
    return len(deltas)
