from datetime import UTC, datetime

from accounts.models import MonthlyUsage
from accounts.usage import billing_period


def test_account_shows_plan_and_usage_for_the_current_month(api, account):
    start, _ = billing_period()
    MonthlyUsage.objects.create(account=account, period_start=start.date(), used=37)
    MonthlyUsage.objects.create(account=account, period_start=datetime(2020, 1, 1).date(), used=99)

    body = api.get("/api/v1/account").json()

    assert body["id"] == account.id
    assert body["id"].startswith("acct_")
    assert body["name"] == "Acme"
    assert body["plan"] == {
        "name": "free",
        "display_name": "Free",
        "price": {"amount": 0, "currency": "usd"},
        "monthly_quota": 100,
        "limits": {
            "api_requests_per_minute": 600,
            "webhook_endpoints": 20,
            "inbound_endpoints": 20,
            "api_keys": 50,
            "members": 5,
        },
    }
    assert body["usage"]["used"] == 37
    assert body["usage"]["limit"] == 100
    assert body["usage"]["remaining"] == 63
    assert body["usage"]["period_start"] == start.isoformat().replace("+00:00", "Z")


def test_billing_period_rolls_over_at_midnight_utc_on_the_first():
    assert billing_period(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert billing_period(datetime(2027, 1, 1, 0, 0, tzinfo=UTC))[0] == datetime(
        2027, 1, 1, tzinfo=UTC
    )
