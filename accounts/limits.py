"""Per-account caps on what one account may create or do, besides the monthly quota.

A free sign-up must not be able to multiply the platform's work without bound: every
webhook endpoint receives a copy of every event (fan-out), every inbound endpoint is a URL
that turns requests into work, and channel tests are free sends. Today each cap is a
setting; `limit_for` is the one place that reads them, so a plan can raise its own later
(e.g. a `limits` JSON field on `Plan` consulted here first) without touching the callers.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Account
from oneping.errors import ServiceError

# Limit name -> the setting that holds its default.
LIMIT_SETTINGS: dict[str, str] = {
    "webhook_endpoints": "ONEPING_MAX_WEBHOOK_ENDPOINTS",
    "inbound_endpoints": "ONEPING_MAX_INBOUND_ENDPOINTS",
    "test_sends_per_day": "ONEPING_TEST_SENDS_PER_DAY",
}

# What each limit counts, in the words of the error message.
LIMIT_NOUNS: dict[str, str] = {
    "webhook_endpoints": "webhook endpoints",
    "inbound_endpoints": "inbound endpoints",
}


def limit_for(account: Account, name: str) -> int:
    """The account's cap called `name` (a key of LIMIT_SETTINGS)."""
    return int(getattr(settings, LIMIT_SETTINGS[name]))


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
