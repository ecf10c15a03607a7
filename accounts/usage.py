"""Usage against the plan, counted per calendar month in UTC."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.utils import timezone

from accounts.models import Account, MonthlyUsage


@dataclass(frozen=True)
class Usage:
    period_start: datetime
    period_end: datetime
    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def billing_period(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The month containing `now`: [00:00 UTC on the 1st, 00:00 UTC on the next 1st)."""
    now = (now or timezone.now()).astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period_key(now: datetime | None = None) -> date:
    return billing_period(now)[0].date()


def usage_for(account: Account, now: datetime | None = None) -> Usage:
    start, end = billing_period(now)
    used = (
        MonthlyUsage.objects.filter(account=account, period_start=start.date())
        .values_list("used", flat=True)
        .first()
    )
    return Usage(
        period_start=start, period_end=end, used=used or 0, limit=account.plan.monthly_quota
    )
