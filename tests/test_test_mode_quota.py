"""Test mode's limits (issue #20): test-mode messages never count against the monthly
quota but against a daily cap (429 test_mode_limit_exceeded), and the test environment has
the same caps as the live one on what fans work out (webhook and inbound endpoints), counted
apart; idempotency keys belong to one environment."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts import api_keys, environments, quota
from accounts.models import MonthlyUsage
from accounts.usage import billing_period
from channels_app.models import Message
from tests.conftest import ApiClient, post_send, send, set_caps
from tests.test_endpoint_limits import INBOUND, WEBHOOK, assert_limit_reached

SEND = {"message": "Order #42 shipped", "channels": ["slack"], "recipient": "ops"}
SLACK = {"kind": "slack", "config": {"webhook_url": "https://hooks.slack.example/services/T/B/X"}}


@pytest.fixture
def test_environment(account):
    return environments.test_environment(account)


@pytest.fixture
def test_api(test_environment) -> ApiClient:
    """An op_test_ key, and a Slack channel in the test environment to send with (made
    through the API, as the README's walkthrough does; nothing here is delivered)."""
    client = ApiClient(api_keys.issue_key(test_environment, "test key")[1])
    assert client.post_json("/api/v1/channels", SLACK).status_code == 201
    return client


@pytest.fixture
def live_api(api) -> ApiClient:
    assert api.post_json("/api/v1/channels", SLACK).status_code == 201
    return api


def next_utc_midnight() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def test_test_mode_sends_never_touch_the_monthly_quota(live_api, test_api, account, settings):
    # Given a live account that has used its whole month
    MonthlyUsage.objects.create(account=account, period_start=billing_period()[0].date(), used=100)
    assert post_send(live_api).json()["error"]["code"] == "quota_exceeded"
    before = list(MonthlyUsage.objects.filter(account=account).values())

    # When its test key sends
    accepted = [post_send(test_api) for _ in range(3)]

    # Then the sends are accepted, counted against the day's test cap only
    assert [response.status_code for response in accepted] == [202] * 3
    cap = settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY
    assert accepted[-1].json()["usage"] == {"used": 3, "limit": cap, "remaining": cap - 3}
    assert accepted[-1]["X-Quota-Limit"] == str(cap)
    assert accepted[-1]["X-Quota-Remaining"] == str(cap - 3)
    assert list(MonthlyUsage.objects.filter(account=account).values()) == before
    assert live_api.get("/api/v1/account").json()["usage"]["used"] == 100


def test_the_daily_test_mode_cap_answers_429_with_retry_after(
    live_api, test_api, test_environment, settings
):
    settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY = 2
    send(test_api)
    last_allowed = post_send(test_api)

    refused = post_send(test_api)

    assert last_allowed.status_code == 202 and last_allowed["X-Quota-Remaining"] == "0"
    assert refused.status_code == 429
    body = refused.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    error = body["error"]
    assert error["code"] == "test_mode_limit_exceeded"
    assert "2 messages today" in error["message"]
    resets_at = next_utc_midnight()
    assert error["details"] == {
        "limit": 2,
        "used": 2,
        "resets_at": resets_at.isoformat().replace("+00:00", "Z"),
    }
    retry_after = int(refused["Retry-After"])
    assert 0 < retry_after <= (resets_at - datetime.now(UTC)).total_seconds() + 1
    assert (refused["X-Quota-Limit"], refused["X-Quota-Remaining"]) == ("2", "0")
    assert Message.objects.filter(account=test_environment).count() == 2
    # The live account's sends are not held by the test mode's cap.
    assert post_send(live_api).status_code == 202


def test_the_test_mode_cap_resets_at_midnight_utc(test_api, test_environment, settings):
    settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY = 1
    send(test_api)
    assert post_send(test_api).status_code == 429

    # The day passes: today's count becomes yesterday's.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    MonthlyUsage.objects.filter(account=test_environment).update(period_start=yesterday)

    assert post_send(test_api).status_code == 202


def test_the_test_mode_cap_counts_per_utc_day(test_environment, settings):
    settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY = 1
    quota.consume(test_environment, now=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    with pytest.raises(quota.TestModeLimitExceeded) as refused:
        quota.consume(test_environment, now=datetime(2026, 11, 30, 23, 59, 30, tzinfo=UTC))
    assert refused.value.headers["Retry-After"] == "30"

    usage = quota.consume(test_environment, now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))

    assert (usage.used, usage.limit) == (1, 1)


@pytest.mark.parametrize(
    ("path", "body", "cap"),
    [
        ("/api/v1/webhook-endpoints", WEBHOOK, "max_webhook_endpoints"),
        ("/api/v1/inbound-endpoints", INBOUND, "max_inbound_endpoints"),
    ],
)
def test_test_mode_endpoints_have_the_live_caps_counted_apart(
    api, test_api, account, path, body, cap
):
    set_caps(account, **{cap: 2})
    for client in (api, test_api):
        for _ in range(2):
            assert client.post_json(path, body).status_code == 201

    # Each environment is full on its own: test mode cannot multiply the fan-out.
    assert_limit_reached(test_api.post_json(path, body), 2)
    assert_limit_reached(api.post_json(path, body), 2)
    assert len(test_api.get(path).json()["results"]) == 2


def test_an_idempotency_key_belongs_to_one_environment(live_api, test_api, account):
    key = {"HTTP_IDEMPOTENCY_KEY": "order-42"}

    live = live_api.post_json("/api/v1/send", SEND, **key)
    test = test_api.post_json("/api/v1/send", SEND, **key)
    test_again = test_api.post_json("/api/v1/send", SEND, **key)

    assert live.status_code == test.status_code == 202
    assert "Idempotent-Replayed" not in live and "Idempotent-Replayed" not in test
    assert live.json()["id"] != test.json()["id"]
    assert (live.json()["livemode"], test.json()["livemode"]) == (True, False)
    # Within its environment, the key replays as ever.
    assert test_again["Idempotent-Replayed"] == "true"
    assert test_again.json() == test.json()
    assert live_api.get("/api/v1/account").json()["usage"]["used"] == 1
