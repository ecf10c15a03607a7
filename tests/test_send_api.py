"""POST /api/v1/send: validation, acceptance, the alias, and what is stored."""

import pytest

from channels_app.models import Delivery, Message, TimelineEntry
from tests.conftest import post_send


def error_of(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_send_answers_202_with_message_deliveries_and_usage(api, channels, slack):
    response = post_send(api, channels=["slack", "telegram"], recipient="4242")

    assert response.status_code == 202
    body = response.json()
    assert body["id"].startswith("msg_")
    assert body["status"] == "queued"
    assert body["recipient"] == "4242"
    assert body["channels"] == ["slack", "telegram"]
    assert [(d["channel"], d["status"]) for d in body["deliveries"]] == [
        ("slack", "queued"),
        ("telegram", "queued"),
    ]
    assert all(d["id"].startswith("dlv_") for d in body["deliveries"])
    assert body["usage"] == {"used": 1, "limit": 100, "remaining": 99}
    assert response["X-Quota-Limit"] == "100"
    assert response["X-Quota-Remaining"] == "99"
    # The request itself never contacts a provider.
    assert slack.requests == []
    detail = api.get(f"/api/v1/messages/{body['id']}").json()
    assert [d["channel"] for d in detail["deliveries"]] == ["slack", "telegram"]
    assert [d["timeline"] for d in detail["deliveries"]] == [
        [{"status": "queued", "at": d["created_at"], "attempt": 0, "detail": "accepted"}]
        for d in detail["deliveries"]
    ]
    # Acceptance is the delivery row itself: the request writes no timeline row for it.
    assert not TimelineEntry.objects.exists()


def test_the_send_alias_answers_exactly_alike(api, channels):
    ok = post_send(api, path="/send")
    assert ok.status_code == 202
    assert ok.json()["id"].startswith("msg_")

    for path in ("/api/v1/send", "/send"):
        response = post_send(api, path=path, channels=["pigeon"])
        assert error_of(response, 400)["code"] == "unknown_channel"
    assert (
        api.post("/send", "{oops", content_type="application/json").json()
        == api.post("/api/v1/send", "{oops", content_type="application/json").json()
    )
    assert error_of(api.get("/send"), 405)["code"] == "method_not_allowed"


def test_send_needs_an_api_key(anonymous_api, db):
    for path in ("/api/v1/send", "/send"):
        assert error_of(post_send(anonymous_api, path=path), 401)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"message": ""}, "validation_error", "message"),
        ({"message": "   "}, "validation_error", "message"),
        ({"message": None}, "validation_error", "message"),
        ({"channels": []}, "validation_error", "channels"),
        ({"channels": "slack"}, "validation_error", "channels"),
        ({"channels": ["slack", "slack"]}, "duplicate_channel", "channels"),
        ({"channels": ["fax"]}, "unknown_channel", "channels"),
        ({"recipient": ""}, "validation_error", "recipient"),
        ({"metadata": ["not", "an", "object"]}, "validation_error", "metadata"),
        ({"metadata": {"blob": "x" * 9000}}, "metadata_too_large", "metadata"),
        ({"callback_url": "ftp://example.com/hook"}, "url_not_allowed", "callback_url"),
        ({"retry": "sometimes"}, "validation_error", "retry"),
        ({"fallback_channels": ["fax"]}, "unknown_channel", "fallback_channels"),
        ({"fallback_channels": ["slack"]}, "duplicate_channel", "fallback_channels"),
    ],
)
def test_malformed_requests_name_the_field(api, channels, fields, code, field):
    error = error_of(post_send(api, **fields), 400)

    assert error["code"] == code
    assert error["message"].startswith(f"{field}")
    assert field in error["details"]["fields"]
    assert Message.objects.count() == 0


def test_unknown_channel_lists_the_valid_ones(api, channels):
    error = error_of(post_send(api, channels=["fax"]), 400)
    for kind in ("email", "telegram", "slack", "discord", "whatsapp", "sms"):
        assert kind in error["message"]


def test_missing_fields_are_reported(api, db):
    error = error_of(api.post_json("/api/v1/send", {}), 400)
    assert set(error["details"]["fields"]) == {"message", "channels", "recipient"}


def test_a_body_that_is_not_an_object_is_400(api, db):
    assert error_of(api.post_json("/api/v1/send", ["a"]), 400)["code"] == "invalid_body"


def test_unconfigured_channel_is_400_channel_not_configured(api, account, slack):
    error = error_of(post_send(api, channels=["telegram"]), 400)

    assert error["code"] == "channel_not_configured"
    assert error["details"]["channel"] == "telegram"


@pytest.mark.parametrize(
    ("channel", "limit"), [("telegram", 4096), ("discord", 2000), ("slack", 40000)]
)
def test_message_longer_than_the_channel_allows(api, channels, channel, limit):
    error = error_of(post_send(api, channels=[channel], message="x" * (limit + 1)), 400)

    assert error["code"] == "message_too_long"
    assert error["details"] == {"channel": channel, "limit": limit, "length": limit + 1}
    assert post_send(api, channels=[channel], message="x" * limit).status_code == 202


def test_recipient_that_resolves_nowhere_is_400_recipient_unresolved(api, channels):
    error = error_of(post_send(api, channels=["email"], recipient="jane"), 400)

    assert error["code"] == "recipient_unresolved"
    assert error["details"] == {"channel": "email", "recipient": "jane"}
    assert "addresses.email" in error["message"]


def test_subject_defaults_to_the_first_line_shortened(api, channels):
    long_line = "A" * 100
    body = post_send(
        api, channels=["email"], recipient="jane@example.com", message=f"{long_line}\nmore"
    )
    message = Message.objects.get(pk=body.json()["id"])
    assert message.subject == "A" * 77 + "…"

    explicit = post_send(api, channels=["email"], recipient="j@example.com", subject="Hello")
    assert Message.objects.get(pk=explicit.json()["id"]).subject == "Hello"


def test_metadata_is_stored_and_returned(api, channels):
    metadata = {"order": 42, "tags": ["vip"]}
    message_id = post_send(api, metadata=metadata).json()["id"]

    assert api.get(f"/api/v1/messages/{message_id}").json()["metadata"] == metadata


def test_retry_false_allows_one_attempt(api, channels):
    post_send(api, retry=False)
    assert Delivery.objects.get().max_attempts == 1


def test_fallback_deliveries_wait_on_standby(api, channels):
    body = post_send(api, channels=["slack"], fallback_channels=["discord", "telegram"]).json()

    assert [(d["channel"], d["status"], d["fallback"]) for d in body["deliveries"]] == [
        ("slack", "queued", False),
        ("discord", "standby", True),
        ("telegram", "standby", True),
    ]
