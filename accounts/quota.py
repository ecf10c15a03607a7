"""The monthly message quota, enforced in the database.

A conditional UPDATE (`used = used + 1 WHERE used < limit`) is atomic in both PostgreSQL
and SQLite: concurrent requests queue on the row lock and each re-checks the condition, so
no interleaving can push an account past its limit.
"""

from datetime import datetime

from django.db.models import F

from accounts.models import Account, MonthlyUsage
from accounts.usage import Usage, billing_period, usage_for
from oneping.errors import ServiceError


class QuotaExceeded(ServiceError):
    def __init__(self, usage: Usage):
        super().__init__(
            "quota_exceeded",
            f"This account has used its {usage.limit} messages for this month; "
            f"the quota resets at {usage.period_end:%Y-%m-%d %H:%M} UTC.",
            status=429,
            details={
                "limit": usage.limit,
                "used": usage.used,
                "resets_at": usage.period_end.isoformat().replace("+00:00", "Z"),
            },
            headers={"X-Quota-Limit": str(usage.limit), "X-Quota-Remaining": "0"},
        )


def consume(account: Account, now: datetime | None = None) -> Usage:
    """Count one message against the quota, or raise QuotaExceeded. Call inside atomic()."""
    start, end = billing_period(now)
    limit = account.plan.monthly_quota
    this_month = MonthlyUsage.objects.filter(account=account, period_start=start.date())
    updated = this_month.filter(used__lt=limit).update(used=F("used") + 1)
    if not updated and not this_month.exists():
        # The month's first message: create the row (a concurrent creator is fine), count.
        MonthlyUsage.objects.bulk_create(
            [MonthlyUsage(account=account, period_start=start.date(), used=0)],
            ignore_conflicts=True,
        )
        updated = this_month.filter(used__lt=limit).update(used=F("used") + 1)
    if not updated:
        raise QuotaExceeded(usage_for(account, now))
    used = this_month.values_list("used", flat=True).get()
    return Usage(period_start=start, period_end=end, used=used, limit=limit)
