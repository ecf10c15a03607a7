"""Usage against the plan, counted per calendar month in UTC; a test environment's
(accounts.environments) against its daily cap instead, per UTC day."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.utils import timezone

from accounts.limits import day_window
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


def period_for(account: Account, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The period the account's messages are counted in: the calendar month, or the UTC
    day for a test environment (its MonthlyUsage rows then hold one day each)."""
    return billing_period(now) if account.livemode else day_window(now)


def limit_for(account: Account) -> int:
    """Messages the account may send in its period: the plan's monthly quota, or the test
    environment's daily cap (test-mode messages never count against the quota)."""
    if account.livemode:
        return account.plan.monthly_quota
    return settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY


def usage_for(account: Account, now: datetime | None = None) -> Usage:
    start, end = period_for(account, now)
    used = (
        MonthlyUsage.objects.filter(account=account, period_start=start.date())
        .values_list("used", flat=True)
        .first()
    )
    return Usage(period_start=start, period_end=end, used=used or 0, limit=limit_for(account))
