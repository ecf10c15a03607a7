"""The usage history: per UTC month, the messages counted against the quota (and the plan
and limit then in force) with the deliveries by channel and by status. Read from
accounts.MonthlyUsage and the usage rollup (channels_app.rollup), never from the message
log: a few rows per month whatever the traffic. Served by GET /api/v1/usage and drawn on
the dashboard's plan page (channels_app.dashboard.usage_chart).

The plan and limit of the current month are the account's now (a plan change takes
effect at once, accounts.quota); a past month's are those recorded with its last message
(MonthlyUsage.plan_name / plan_limit), null for a month without messages.

A test environment counts its messages per UTC day against a daily cap: its months sum
those days, and their plan and limit are null (no monthly quota applies).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.utils import timezone

from accounts.models import Account, MonthlyUsage
from accounts.usage import billing_period
from channels_app.models import UsageRollup
from channels_app.rollup import month_of

MAX_MONTHS = 24
DEFAULT_MONTHS = 12


@dataclass
class Month:
    month: date
    used: int = 0
    limit: int | None = None
    plan: str | None = None
    by_channel: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    # The current month only: used ÷ the elapsed fraction of the month, rounded.
    projected: int | None = None
    current: bool = False

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"

    def as_json(self) -> dict:
        body = {
            "month": self.label,
            "used": self.used,
            "limit": self.limit,
            "plan": self.plan,
            "by_channel": self.by_channel,
            "by_status": self.by_status,
        }
        if self.current:
            body["projected"] = self.projected
        return body


def months_back(now: datetime, months: int) -> list[date]:
    """The first days of the `months` UTC months up to `now`'s, newest first."""
    first = month_of(now)
    index = first.year * 12 + first.month - 1
    return [date((index - n) // 12, (index - n) % 12 + 1, 1) for n in range(months)]


def history(
    account: Account, months: int = DEFAULT_MONTHS, now: datetime | None = None
) -> list[Month]:
    """The account's last `months` months, newest first, months without traffic as zeros."""
    now = now or timezone.now()
    wanted = months_back(now, months)
    oldest = wanted[-1]
    rows = {first: Month(month=first, current=n == 0) for n, first in enumerate(wanted)}
    _add_usage(account, rows, oldest)
    counts = (
        UsageRollup.objects.filter(account=account, month__gte=oldest)
        .values_list("month", "channel", "status", "count")
        .order_by("month", "channel", "status")
    )
    for first, channel, status, count in counts:
        row = rows.get(first)
        if row is None or not count:
            continue
        row.by_channel[channel] = row.by_channel.get(channel, 0) + count
        row.by_status[status] = row.by_status.get(status, 0) + count
    current = rows[wanted[0]]
    if account.livemode:
        current.plan = account.plan.name
        current.limit = account.plan.monthly_quota
    current.projected = project(current.used, now)
    return list(rows.values())


def _add_usage(account: Account, rows: dict[date, Month], oldest: date) -> None:
    usage = MonthlyUsage.objects.filter(account=account, period_start__gte=oldest)
    if account.livemode:
        for first, used, plan_name, plan_limit in usage.values_list(
            "period_start", "used", "plan_name", "plan_limit"
        ):
            if first in rows:
                rows[first].used = used
                rows[first].plan = plan_name or None
                rows[first].limit = plan_limit
        return
    # A test environment's rows are days: summed per month.
    days: dict[date, int] = defaultdict(int)
    for day, used in usage.values_list("period_start", "used"):
        days[date(day.year, day.month, 1)] += used
    for first, used in days.items():
        if first in rows:
            rows[first].used = used


def project(used: int, now: datetime) -> int:
    """The month's messages at this pace: used ÷ the elapsed fraction of the month."""
    start, end = billing_period(now)
    elapsed = (now.astimezone(UTC) - start) / (end - start)
    # Under a minute into the month, the pace says nothing yet.
    if (now.astimezone(UTC) - start).total_seconds() < 60:
        return used
    return round(used / elapsed)
