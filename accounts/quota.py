"""The monthly message quota, enforced in the database.

A conditional UPDATE (`used = used + n WHERE used <= limit - n`) is atomic in both PostgreSQL
and SQLite: concurrent requests queue on the row lock and each re-checks the condition, so
no interleaving can push an account past its limit.
"""

import math
from datetime import date, datetime

from django.db import connection
from django.utils import timezone

from accounts import quota_warnings
from accounts.models import Account, MonthlyUsage
from accounts.usage import Usage, limit_for, period_for, usage_for
from oneping import instruments
from oneping.errors import ServiceError


def _used_up(usage: Usage) -> dict:
    """What a refusal for a used-up period says besides its words: the details and the
    X-Quota-* headers, alike for the monthly quota and test mode's daily cap."""
    return {
        "status": 429,
        "details": {
            "limit": usage.limit,
            "used": usage.used,
            "resets_at": usage.period_end.isoformat().replace("+00:00", "Z"),
        },
        "headers": {"X-Quota-Limit": str(usage.limit), "X-Quota-Remaining": "0"},
    }


class QuotaExceeded(ServiceError):
    def __init__(self, usage: Usage):
        super().__init__(
            "quota_exceeded",
            f"This account has used its {usage.limit} messages for this month; "
            f"the quota resets at {usage.period_end:%Y-%m-%d %H:%M} UTC.",
            **_used_up(usage),
        )


class TestModeLimitExceeded(ServiceError):
    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, usage: Usage, now: datetime | None = None):
        # The cap resets within a day, so a client can simply wait: say when (RFC 9110
        # §10.2.3), as the channel tests' daily cap does.
        seconds = (usage.period_end - (now or timezone.now())).total_seconds()
        refusal = _used_up(usage)
        refusal["headers"]["Retry-After"] = str(max(math.ceil(seconds), 1))
        super().__init__(
            "test_mode_limit_exceeded",
            f"This account's test mode has sent its {usage.limit} messages today; test-mode "
            "messages do not count against the monthly quota but are capped per day, and "
            f"the count resets at {usage.period_end:%Y-%m-%d %H:%M} UTC.",
            **refusal,
        )


def consume(account: Account, now: datetime | None = None) -> Usage:
    """Count one message against the quota (a test environment's: its daily cap), or
    raise QuotaExceeded (TestModeLimitExceeded). Call inside atomic().

    A live account's send that reaches 80 % or 100 % of the quota for the first time in
    the period has its warning sent once committed (accounts.quota_warnings)."""
    counted, usage = consume_many(account, 1, now)
    if not counted:
        raise refusal(account, usage, now)
    return usage


def refusal(account: Account, usage: Usage, now: datetime | None = None) -> ServiceError:
    """The error of a message the quota (a test environment: its daily cap) turned away."""
    return QuotaExceeded(usage) if account.livemode else TestModeLimitExceeded(usage, now)


def consume_many(account: Account, n: int, now: datetime | None = None) -> tuple[int, Usage]:
    """Count up to `n` messages, admitting them in order until the quota runs out: (how
    many were counted, the usage after). Call inside atomic(); exact under concurrency,
    like consume(), since every counting UPDATE re-checks the room left under the row lock.

    Warnings as consume(): the final count decides the level reached; a batch of which
    nothing was counted is refused like a single send."""
    start, end = period_for(account, now)
    limit = limit_for(account)
    # The usage history's plan and limit of the month (a test environment's days: none).
    in_force = (account.plan.name, limit) if account.livemode else ("", None)
    counted = _count(account, start.date(), n, limit, in_force)
    admitted = n if counted is not None else 0
    if counted is None:
        # At the limit, or the month's first messages: make sure the row exists (a
        # concurrent creator is fine) and count again. Counting again also when the row
        # exists matters: it may have been created and committed by a concurrent first
        # message between our UPDATE and the check (seen as a spurious 429 in make bench).
        if not _month_row(account, start.date()).exists():
            MonthlyUsage.objects.bulk_create(
                [MonthlyUsage(account=account, period_start=start.date(), used=0)],
                ignore_conflicts=True,
            )
        admitted, counted = _count_up_to(account, start.date(), n, limit, in_force)
    if counted is None:
        if not account.livemode:
            return 0, usage_for(account, now)
        instruments.QUOTA_REJECTIONS.inc(n)
        used, warned = _month_row(account, start.date()).values_list(
            "used", "warned_percent"
        ).first() or (0, 0)
        quota_warnings.after_refused(account, start.date(), used, limit, warned)
        return 0, Usage(period_start=start, period_end=end, used=used, limit=limit)
    used, warned = counted
    if account.livemode:
        if admitted < n:
            instruments.QUOTA_REJECTIONS.inc(n - admitted)
        quota_warnings.after_counted(account, start.date(), used, limit, warned)
    return admitted, Usage(period_start=start, period_end=end, used=used, limit=limit)


def _count_up_to(
    account: Account,
    period_start: date,
    n: int,
    limit: int,
    in_force: tuple[str | None, int | None],
) -> tuple[int, tuple[int, int] | None]:
    """Count as many of `n` as still fit: read the room left, count that much with the
    same conditional UPDATE, and read again if a concurrent send took some of it first.
    Each pass either counts or sees the count grow, so it ends by the limit at the latest.
    Only a batch near the limit gets here: the common case counts `n` in one statement."""
    admitted, counted = 0, None
    while admitted < n:
        used = _month_row(account, period_start).values_list("used", flat=True).first()
        room = min(n - admitted, limit - used) if used is not None else 0
        if room <= 0:
            break
        step = _count(account, period_start, room, limit, in_force)
        if step is not None:
            admitted, counted = admitted + room, step
    return admitted, counted


def _month_row(account: Account, period_start: date):
    return MonthlyUsage.objects.filter(account=account, period_start=period_start)


def _count(
    account: Account,
    period_start: date,
    n: int,
    limit: int,
    in_force: tuple[str | None, int | None],
) -> tuple[int, int] | None:
    """`used + n` if that stays within the limit, returning the new count and the level of quota
    warning already sent for the period (None: at the limit, or no row yet). RETURNING
    saves reading the row back; PostgreSQL and SQLite ≥ 3.35 have it, Django's UPDATE
    does not. The same statement writes the plan and limit `in_force`, so a plan changed
    mid-month shows in the month's history from its next message on."""
    table = connection.ops.quote_name(MonthlyUsage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET used = used + %s, plan_name = %s, plan_limit = %s"  # noqa: S608 (the table name is ours)
            " WHERE account_id = %s AND period_start = %s AND used <= %s"
            " RETURNING used, warned_percent",
            [
                n,
                *in_force,
                account.pk,
                connection.ops.adapt_datefield_value(period_start),
                limit - n,
            ],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])
