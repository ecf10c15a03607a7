"""POST /api/v1/send/batch: items answered side by side, the quota admitting them in order,
idempotency keys per item, one transaction and far fewer statements than single sends."""

import json
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import api_keys, environments
from accounts.models import MonthlyUsage
from accounts.usage import billing_period
from channels_app.batching import BATCH_LIMIT
from channels_app.models import ChannelConfig, Contact, Delivery, Message, UsageRollup
from tests.conftest import ApiClient, wait_until
from tests.test_quota_and_idempotency import concurrently

BATCH = "/api/v1/send/batch"


def item(recipient: str = "ops", message: str = "Order #42 shipped", **fields) -> dict:
    return {"message": message, "channels": ["slack"], "recipient": recipient, **fields}


def post_batch(api: ApiClient, messages: list, path: str = BATCH, **extra):
    return api.post_json(path, {"messages": messages}, **extra)


def accepted(response) -> list[dict]:
    assert response.status_code == 202, response.content
    return response.json()["data"]


def used_this_month(account) -> int:
    row = MonthlyUsage.objects.filter(account=account, period_start=billing_period()[0].date())
    return row.values_list("used", flat=True).first() or 0


def at_usage(account, used: int) -> None:
    MonthlyUsage.objects.create(account=account, period_start=billing_period()[0].date(), used=used)


@pytest.mark.worker
def test_mixed_batch_answers_each_item_in_order_and_the_worker_delivers_the_valid_ones(
    api, channels, slack, telegram, celery_worker
):
    response = post_batch(
        api,
        [
            item(message="first"),
            item(channels=["pigeon"]),
            "not an object",
            item(message="second", channels=["slack", "telegram"], recipient="4242"),
            item(message=""),
            item(message="third", fallback_channels=["discord"]),
        ],
    )

    data = accepted(response)
    assert [entry["index"] for entry in data] == [0, 1, 2, 3, 4, 5]
    assert [entry.get("error", {}).get("code") for entry in data] == [
        None,
        "unknown_channel",
        "invalid_body",
        None,
        "validation_error",
        None,
    ]
    # /send's answer for each accepted message, the batch's usage once at the top.
    assert data[3]["id"].startswith("msg_")
    assert [(d["channel"], d["status"]) for d in data[3]["deliveries"]] == [
        ("slack", "queued"),
        ("telegram", "queued"),
    ]
    assert [(d["channel"], d["status"]) for d in data[5]["deliveries"]] == [
        ("slack", "queued"),
        ("discord", "standby"),
    ]
    assert "usage" not in data[0]
    assert data[1]["error"]["details"]["fields"]["channels"]
    assert response.json()["usage"] == {"used": 3, "limit": 100, "remaining": 97}
    assert response["X-Quota-Remaining"] == "97"

    ids = [data[i]["id"] for i in (0, 3, 5)]
    wait_until(lambda: Message.objects.filter(pk__in=ids, status="delivered").count() == 3)
    assert sorted(request.json()["text"] for request in slack.requests) == [
        "first",
        "second",
        "third",
    ]
    assert telegram.requests[0].json() == {"chat_id": "4242", "text": "second"}
    assert Message.objects.count() == 3
    # The rollup counted the batch's deliveries as a single send's would be.
    assert sum(UsageRollup.objects.values_list("count", flat=True)) == 5


def test_a_batch_with_no_accepted_item_is_400_batch_rejected(api, channels):
    response = post_batch(api, [item(channels=["fax"]), item(recipient=""), 7])

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "batch_rejected"
    assert [entry["index"] for entry in error["details"]["errors"]] == [0, 1, 2]
    assert [entry["error"]["code"] for entry in error["details"]["errors"]] == [
        "unknown_channel",
        "validation_error",
        "invalid_body",
    ]
    assert not Message.objects.exists()
    assert used_this_month(channels["slack"].account) == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"messages": []}, "validation_error"),
        ({"messages": "all of them"}, "validation_error"),
        ({}, "validation_error"),
        ([item()], "invalid_body"),
        ({"messages": [item()] * (BATCH_LIMIT + 1)}, "too_many_messages"),
    ],
)
def test_the_batch_itself_must_be_a_list_of_1_to_1000_messages(api, channels, body, code):
    response = api.post_json(BATCH, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert not Message.objects.exists()


def test_the_quota_admits_items_in_order_until_it_runs_out(api, channels, account):
    at_usage(account, 95)

    response = post_batch(api, [item(message=f"m{n}") for n in range(10)])

    data = accepted(response)
    assert [("id" in entry) for entry in data] == [True] * 5 + [False] * 5
    refused = [entry["error"] for entry in data[5:]]
    assert {error["code"] for error in refused} == {"quota_exceeded"}
    assert refused[0]["details"]["limit"] == 100
    assert response.json()["usage"] == {"used": 100, "limit": 100, "remaining": 0}
    assert sorted(Message.objects.values_list("body", flat=True)) == [f"m{n}" for n in range(5)]
    assert Delivery.objects.count() == 5
    row = MonthlyUsage.objects.get(account=account)
    assert row.used == 100
    # The warning at 100 % went out with the batch that reached it.
    assert row.warned_percent == 100

    # At the limit, a batch is refused as a whole, as /send is.
    again = post_batch(api, [item(), item()])
    assert again.status_code == 400
    assert [e["error"]["code"] for e in again.json()["error"]["details"]["errors"]] == [
        "quota_exceeded"
    ] * 2
    assert MonthlyUsage.objects.get(account=account).used == 100


def test_idempotency_keys_per_item(api, channels, account):
    body = item(message="keyed")
    first = api.post_json("/api/v1/send", body, HTTP_IDEMPOTENCY_KEY="from-send").json()
    api.post_json("/api/v1/send", item(message="other"), HTTP_IDEMPOTENCY_KEY="taken")

    response = post_batch(
        api,
        [
            {**body, "idempotency_key": "from-send"},  # a replay of the /send
            {**body, "idempotency_key": "taken"},  # the key of another body
            item(message="new", idempotency_key="fresh"),
            item(message="again", idempotency_key="fresh"),  # duplicate in the batch
            item(message="bad key", idempotency_key=""),
        ],
    )

    data = accepted(response)
    assert data[0]["replayed"] is True
    assert data[0]["id"] == first["id"]
    assert data[0]["deliveries"] == first["deliveries"]
    assert data[1]["error"]["code"] == "idempotency_conflict"
    assert data[1]["error"]["details"] == {"idempotency_key": "taken"}
    assert "replayed" not in data[2]
    assert data[3]["error"]["code"] == "duplicate_idempotency_key"
    assert data[4]["error"]["code"] == "invalid_idempotency_key"
    # Only "new" was stored and counted (the two /send messages before it).
    assert Message.objects.count() == 3
    assert response.json()["usage"]["used"] == 3

    # The key a batch item claimed replays through /send, and through a batch again.
    replay = api.post_json("/api/v1/send", item(message="new"), HTTP_IDEMPOTENCY_KEY="fresh")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == data[2]["id"]
    twice = accepted(post_batch(api, [item(message="new", idempotency_key="fresh")]))
    assert twice[0]["id"] == data[2]["id"]
    assert twice[0]["replayed"] is True
    assert Message.objects.count() == 3
    assert used_this_month(account) == 3


def test_keys_of_items_refused_by_the_quota_stay_free(api, channels, account):
    at_usage(account, 99)

    data = accepted(post_batch(api, [item(idempotency_key="a"), item(idempotency_key="b")]))

    assert data[1]["error"]["code"] == "quota_exceeded"
    MonthlyUsage.objects.filter(account=account).update(used=0)
    retried = accepted(post_batch(api, [item(idempotency_key="b")]))
    assert "replayed" not in retried[0]
    assert Message.objects.count() == 2


def test_the_send_batch_alias_answers_alike(api, channels):
    data = accepted(post_batch(api, [item()], path="/send/batch"))
    assert data[0]["id"].startswith("msg_")
    assert post_batch(api, [], path="/send/batch").json() == post_batch(api, []).json()


def test_batch_needs_the_send_scope(account, channels):
    _, key = api_keys.issue_key(account, "reader", scopes=["read"])

    response = post_batch(ApiClient(key), [item()])

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


def test_the_batch_body_limit_is_its_own(api, channels, settings):
    # Over /send's limit (1 MiB) but under the batch's (5 MiB): accepted.
    padded = json.dumps({"messages": [item()]}) + " " * (1024 * 1024 + 10)
    assert api.post(BATCH, padded, content_type="application/json").status_code == 202
    assert api.post("/api/v1/send", padded, content_type="application/json").status_code == 413

    settings.ONEPING_API_BATCH_MAX_BODY_BYTES = 4096
    for path in (BATCH, "/send/batch"):
        response = post_batch(api, [item(message="x" * 3000)] * 2, path=path)
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == "payload_too_large"
        assert error["details"]["limit"] == 4096
    assert Message.objects.count() == 1


def test_a_test_key_sends_test_messages_under_the_daily_cap(account, settings):
    settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY = 3
    test_api = ApiClient(api_keys.issue_key(environments.test_environment(account), "t")[1])
    slack = {"kind": "slack", "config": {"webhook_url": "https://hooks.slack.example/s/T/B/X"}}
    assert test_api.post_json("/api/v1/channels", slack).status_code == 201

    response = post_batch(test_api, [item(message=f"t{n}") for n in range(5)])

    data = accepted(response)
    assert [entry["livemode"] for entry in data[:3]] == [False] * 3
    assert all(d["livemode"] is False for d in data[0]["deliveries"])
    assert [entry["error"]["code"] for entry in data[3:]] == ["test_mode_limit_exceeded"] * 2
    assert response.json()["usage"] == {"used": 3, "limit": 3, "remaining": 0}
    # The live month is untouched.
    assert used_this_month(account) == 0


def test_a_test_keys_batch_makes_its_missing_channels_simulated_once(account):
    test_env = environments.test_environment(account)
    test_api = ApiClient(api_keys.issue_key(test_env, "t")[1])

    data = accepted(
        post_batch(
            test_api,
            [item(channels=["telegram"], recipient="4242"), item(channels=["telegram", "discord"])],
        )
    )

    assert [[d["channel"] for d in entry["deliveries"]] for entry in data] == [
        ["telegram"],
        ["telegram", "discord"],
    ]
    simulated = ChannelConfig.objects.filter(account=test_env).order_by("kind")
    assert [(c.kind, c.simulated) for c in simulated] == [("discord", True), ("telegram", True)]


def test_items_cannot_reach_another_accounts_contacts_or_channels(
    api, channels, make_account, account
):
    other = make_account()
    ChannelConfig.objects.create(account=other, kind="sms", config={"provider": "twilio"})
    Contact.objects.create(account=other, identifier="bob", addresses={"telegram": "999"})

    data = accepted(
        post_batch(
            api,
            [
                item(recipient="bob", channels=["telegram"]),
                item(recipient="+15550100", channels=["sms"]),
            ],
        )
    )

    # "bob" is not this account's contact: its channel's default chat, never 999.
    assert Delivery.objects.get(message_id=data[0]["id"]).target == "4242"
    assert data[1]["error"]["code"] == "channel_not_configured"
    assert not Message.objects.filter(account=other).exists()


def test_items_reach_their_recipients_contacts_as_send_does(api, channels, account):
    Contact.objects.create(account=account, identifier="alice", addresses={"telegram": "777"})
    Contact.objects.create(account=account, identifier="bob", addresses={"telegram": "888"})

    data = accepted(
        post_batch(
            api,
            [
                item(recipient="alice", channels=["telegram"]),
                item(recipient=" bob ", channels=["telegram"]),  # the serializer trims it
                item(recipient="carol", channels=["telegram"]),  # no contact: the default
            ],
        )
    )

    targets = [Delivery.objects.get(message_id=entry["id"]).target for entry in data]
    assert targets == ["777", "888", "4242"]


def test_a_batch_of_100_uses_far_fewer_statements_than_100_sends(api, channels, account):
    account.plan.monthly_quota = 1000
    account.plan.save()
    api.post_json("/api/v1/send", item())  # warm-up: the month's row, caches

    with CaptureQueriesContext(connection) as singles:
        for n in range(100):
            assert api.post_json("/api/v1/send", item(message=f"s{n}")).status_code == 202
    with CaptureQueriesContext(connection) as batch:
        accepted(post_batch(api, [item(message=f"b{n}") for n in range(100)]))

    assert Message.objects.count() == 201
    # The batch's statements do not grow with its items: the key, the channels and contacts
    # read once, the key claims, the quota, the bulk inserts (SQLite splits them at its 999
    # bound parameters), the rollup.
    assert len(batch.captured_queries) <= 20, [q["sql"][:80] for q in batch.captured_queries]
    assert len(singles.captured_queries) >= 100 * 5


def test_an_item_is_refused_exactly_as_send_refuses_it(api, channels):
    bad = [
        item(channels=["fax"]),
        item(channels=["slack"], fallback_channels=["slack"]),
        item(message="x" * 2001, channels=["discord"]),
        item(metadata={"blob": "x" * 9000}),
        item(recipient="nobody", channels=["sms"]),
        item(recipient="not-an-address", channels=["email"]),
        item(channel_options={"telegram": {"parse_mode": "HTML"}}),
        {"channels": ["slack"]},
    ]

    batch = post_batch(api, [*bad, item()])

    data = accepted(batch)
    for index, payload in enumerate(bad):
        single = api.post_json("/api/v1/send", payload).json()
        assert data[index] == {"index": index, "error": single["error"]}, payload
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_batches_racing_near_the_quota_never_pass_it(account, slack_channel):
    at_usage(account, 90)
    _, raw_key = api_keys.issue_key(account, "race")
    start = threading.Barrier(2)

    def post(n):
        start.wait(timeout=30)
        response = post_batch(ApiClient(raw_key), [item(message=f"{n}-{i}") for i in range(8)])
        return response.status_code, response.json()

    results = concurrently(2, post)

    accepted_ids = [
        entry["id"]
        for status, body in results
        if status == 202
        for entry in body["data"]
        if "id" in entry
    ]
    refused = [
        entry
        for status, body in results
        for entry in (body["data"] if status == 202 else body["error"]["details"]["errors"])
        if "error" in entry
    ]
    assert len(accepted_ids) == 10
    assert len(refused) == 6
    assert {entry["error"]["code"] for entry in refused} == {"quota_exceeded"}
    assert Message.objects.filter(account=account).count() == 10
    assert MonthlyUsage.objects.get(account=account).used == 100
