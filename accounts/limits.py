"""Per-account caps on what one account may create or do, besides the monthly quota.

A free sign-up must not be able to multiply the platform's work without bound: every
webhook endpoint receives a copy of every event (fan-out), every inbound endpoint is a URL
that turns requests into work, and channel tests are free sends. The caps are the account's
plan's (Plan.max_*, editable in the admin), so an upgrade raises them at once; `limit_for`
is the one place that reads them. A test environment follows its live account's plan
(accounts.environments.follow_plan) and counts its own rows against it, apart.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Account, Plan
from oneping.errors import ServiceError

# Limit name -> the Plan field that holds it.
PLAN_LIMITS: dict[str, str] = {
    "webhook_endpoints": "max_webhook_endpoints",
    "inbound_endpoints": "max_inbound_endpoints",
    "api_keys": "max_api_keys",
    "members": "max_members",
}
# Limits that are not the plan's (yet): limit name -> the setting that holds it.
LIMIT_SETTINGS: dict[str, str] = {
    "test_sends_per_day": "ONEPING_TEST_SENDS_PER_DAY",
}

# What each limit counts, in the words of the error message.
LIMIT_NOUNS: dict[str, str] = {
    "webhook_endpoints": "webhook endpoints",
    "inbound_endpoints": "inbound endpoints",
    "api_keys": "active API keys",
    "members": "members and pending invitations",
}


def limit_for(account: Account, name: str) -> int:
    """The account's cap called `name` (a key of PLAN_LIMITS or LIMIT_SETTINGS)."""
    if name in PLAN_LIMITS:
        # Read fresh: the account object may be older than a plan change in the admin.
        value = (
            Plan.objects.filter(accounts__pk=account.pk)
            .values_list(PLAN_LIMITS[name], flat=True)
            .first()
        )
        return int(value if value is not None else getattr(account.plan, PLAN_LIMITS[name]))
    return int(getattr(settings, LIMIT_SETTINGS[name]))


def plan_limits(plan: Plan) -> dict[str, int]:
    """A plan's limits, as the API and the dashboard show them."""
    return {
        "api_requests_per_minute": plan.api_requests_per_minute,
        **{name: getattr(plan, field) for name, field in PLAN_LIMITS.items()},
    }


class LimitReached(ServiceError):
    def __init__(self, name: str, limit: int):
        noun = LIMIT_NOUNS.get(name, name.replace("_", " "))
        super().__init__(
            "limit_reached",
            f"This account already has {limit} {noun}, its limit; delete one to add another.",
            details={"limit": limit, "resource": name},
        )


def ensure_room(account: Account, name: str, existing: QuerySet) -> None:
    """Raise LimitReached if `existing` (the account's rows of that kind) is at the cap.

    Call inside the transaction that creates the row. The account row is locked first, so
    concurrent creations for one account count one after the other and never pass the cap
    (PostgreSQL: SELECT … FOR UPDATE; SQLite takes the database's write lock at BEGIN
    IMMEDIATE, see oneping/settings.py).
    """
    Account.objects.select_for_update().filter(pk=account.pk).values_list("pk").first()
    limit = limit_for(account, name)
    if existing.count() >= limit:
        raise LimitReached(name, limit)


def day_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The UTC calendar day containing `now`: daily caps reset at 00:00 UTC."""
    now = (now or timezone.now()).astimezone(UTC)
    start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return start, start + timedelta(days=1)
