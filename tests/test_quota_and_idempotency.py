"""The free-tier quota and Idempotency-Key, including under concurrent requests."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.db import connection

from accounts import quota
from accounts.models import MonthlyUsage
from accounts.usage import billing_period
from channels_app.models import ChannelConfig, Message
from tests.conftest import ApiClient

SEND = {"message": "ping", "channels": ["slack"], "recipient": "ops"}


def concurrently(count: int, call) -> list:
    def run(n):
        try:
            return call(n)
        finally:
            connection.close()  # each thread has its own connection; give it back

    with ThreadPoolExecutor(max_workers=25) as pool:
        return list(pool.map(run, range(count)))


def test_quota_blocks_the_101st_message(api, slack_channel):
    MonthlyUsage.objects.create(
        account=slack_channel.account, period_start=billing_period()[0].date(), used=99
    )

    last_allowed = api.post_json("/api/v1/send", SEND)
    refused = api.post_json("/api/v1/send", SEND)

    assert last_allowed.status_code == 202
    assert last_allowed["X-Quota-Remaining"] == "0"
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["limit"] == 100
    assert error["details"]["used"] == 100
    assert error["details"]["resets_at"] == billing_period()[1].isoformat().replace("+00:00", "Z")
    assert refused["X-Quota-Remaining"] == "0"
    assert Message.objects.count() == 1


def test_the_quota_resets_on_the_first_of_the_month_utc(account):
    account.plan.monthly_quota = 1
    account.plan.save()
    quota.consume(account, now=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    with pytest.raises(quota.QuotaExceeded):
        quota.consume(account, now=datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))

    usage = quota.consume(account, now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))

    assert usage.used == 1


def test_replays_and_test_sends_do_not_count(api, slack_channel):
    api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="k1")
    api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="k1")
    api.post_json(f"/api/v1/channels/{slack_channel.pk}/test", {})

    assert api.get("/api/v1/account").json()["usage"]["used"] == 1


def test_150_concurrent_sends_on_a_free_account_accept_exactly_100(
    transactional_db, account, slack_channel
):
    from accounts import api_keys

    _, raw_key = api_keys.issue_key(account, "race")

    def post(_):
        return ApiClient(raw_key).post_json("/api/v1/send", SEND).status_code

    statuses = concurrently(150, post)

    assert statuses.count(202) == 100
    assert statuses.count(429) == 50
    assert Message.objects.filter(account=account).count() == 100
    assert MonthlyUsage.objects.get(account=account).used == 100
    assert ApiClient(raw_key).post_json("/api/v1/send", SEND).status_code == 429


def test_idempotent_replay_returns_the_same_body(api, slack_channel):
    first = api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="order-42")
    again = api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="order-42")

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Message.objects.count() == 1


def test_same_key_with_another_body_is_409(api, slack_channel):
    api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="order-42")
    other = api.post_json(
        "/api/v1/send", {**SEND, "message": "different"}, HTTP_IDEMPOTENCY_KEY="order-42"
    )

    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_keys_are_per_account_and_expire_after_24_hours(api, slack_channel, make_account):
    from channels_app.models import IdempotencyKey

    api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyKey.objects.update(created_at=datetime(2020, 1, 1, tzinfo=UTC))

    fresh = api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="k")

    assert "Idempotent-Replayed" not in fresh
    assert Message.objects.count() == 2


def test_account_b_reusing_account_as_key_and_body_gets_its_own_message(
    api, slack_channel, slack, make_account, make_api_client
):
    from channels_app import delivery as delivery_service
    from channels_app.models import Delivery

    account_b = make_account("Beta")
    ChannelConfig.objects.create(
        account=account_b, kind="slack", config={"webhook_url": f"{slack.url}/hook-of-b"}
    )
    api_b = make_api_client(account_b)
    first_a = api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="order-42")
    a_message = Message.objects.get(pk=first_a.json()["id"])
    a_before = (a_message.status, list(a_message.deliveries.values()))

    first_b = api_b.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="order-42")
    again_b = api_b.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="order-42")

    # B's first call is not a replay of A's answer: its own message and its own delivery.
    assert first_b.status_code == 202
    assert "Idempotent-Replayed" not in first_b
    body_b = first_b.json()
    assert body_b["id"] != first_a.json()["id"]
    assert body_b["deliveries"][0]["id"] != first_a.json()["deliveries"][0]["id"]
    b_message = Message.objects.get(pk=body_b["id"])
    assert b_message.account_id == account_b.pk
    assert b_message.deliveries.get().account_id == account_b.pk
    # B's own key replays B's answer, within B.
    assert again_b["Idempotent-Replayed"] == "true" and again_b.json() == body_b
    # Each account counted its own message; A's rows are as they were.
    assert api.get("/api/v1/account").json()["usage"]["used"] == 1
    assert api_b.get("/api/v1/account").json()["usage"]["used"] == 1
    a_message.refresh_from_db()
    assert (a_message.status, list(a_message.deliveries.values())) == a_before
    # And B's delivery really goes to B's channel.
    delivery_service.attempt(body_b["deliveries"][0]["id"])
    assert Delivery.objects.get(pk=body_b["deliveries"][0]["id"]).status == "delivered"
    assert [received.path for received in slack.requests] == ["/hook-of-b"]


def test_an_overlong_idempotency_key_is_400(api, slack_channel):
    response = api.post_json("/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


def test_20_concurrent_calls_with_one_key_make_one_message(
    transactional_db, account, slack_channel
):
    from accounts import api_keys

    _, raw_key = api_keys.issue_key(account, "race")

    def post(_):
        response = ApiClient(raw_key).post_json(
            "/api/v1/send", SEND, HTTP_IDEMPOTENCY_KEY="same-key"
        )
        return response.status_code, response.json().get("id")

    results = concurrently(20, post)

    assert {status for status, _ in results} == {202}
    assert len({message_id for _, message_id in results}) == 1
    assert Message.objects.count() == 1
    assert MonthlyUsage.objects.get(account=account).used == 1
