"""Delivery attempts against fake providers: outcomes, retries, rate limits, timeouts.

These call the worker-side service directly, one attempt at a time, so every step can be
checked; tests/test_end_to_end.py runs the same flows through a real worker.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app import delivery as delivery_service
from channels_app.models import Delivery, Message
from tests.conftest import TELEGRAM_TOKEN, send, unpaced
from tests.fakes import Canned, FakeDiscord, FakeTelegram

# These tests attempt a delivery again at once (made due now) to see how each answer is
# sorted and retried; their channels are unpaced (the operator's flag), since pacing would
# hold that attempt for its destination's next token (tests/test_pacing*.py cover pacing).


@pytest.fixture
def channels(channels):
    unpaced(*channels.values())
    return channels


def attempt(delivery_id: str) -> Delivery:
    delivery_service.attempt(delivery_id)
    return Delivery.objects.get(pk=delivery_id)


def timeline(delivery: Delivery) -> list[str]:
    return [step.status for step in delivery.steps]


def test_telegram_delivers_and_stores_the_message_id(api, channels, telegram):
    body = send(api, channels=["telegram"], recipient="-1001234567890", message="Hi there")

    delivery = attempt(body["deliveries"][0]["id"])

    [request] = telegram.requests
    assert request.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    assert request.json() == {"chat_id": "-1001234567890", "text": "Hi there"}
    assert delivery.status == "delivered"
    assert delivery.attempts == 1
    assert delivery.provider_message_id.isdigit()
    assert timeline(delivery) == ["queued", "sending", "delivered"]
    assert Message.objects.get().status == "delivered"


def test_telegram_429_waits_at_least_retry_after(api, channels, telegram):
    telegram.answer(FakeTelegram.rate_limited(retry_after=30))
    body = send(api, channels=["telegram"], recipient="4242")

    delivery = attempt(body["deliveries"][0]["id"])

    assert delivery.status == "retrying"
    assert delivery.attempts == 1
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 28 < wait <= 30  # the schedule says 0.2 s; Telegram asked for 30
    assert "Too Many Requests" in delivery.last_error
    assert timeline(delivery) == ["queued", "sending", "retrying"]
    assert Message.objects.get().status == "processing"
    # Not due yet: a duplicate task does not send early.
    assert attempt(delivery.pk).attempts == 1
    assert len(telegram.requests) == 1


def test_discord_429_honours_its_retry_after_and_wait_true(api, channels, discord):
    discord.answer(FakeDiscord.rate_limited(retry_after=12.5))
    body = send(api, channels=["discord"], message="Deploy done")
    delivery_id = body["deliveries"][0]["id"]

    delivery = attempt(delivery_id)

    assert delivery.status == "retrying"
    assert (delivery.next_attempt_at - timezone.now()).total_seconds() > 11
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
    delivery = attempt(delivery_id)
    assert delivery.status == "delivered"
    assert delivery.attempts == 2
    assert delivery.provider_message_id
    _first, second = discord.requests
    assert second.path.endswith("?wait=true")
    assert second.json() == {"content": "Deploy done"}


def test_slack_500_is_retried_then_delivered(api, channels, slack):
    slack.answer(Canned(500, "rollup_error"))
    body = send(api)
    delivery_id = body["deliveries"][0]["id"]

    assert attempt(delivery_id).status == "retrying"
    delivery = attempt(delivery_id)

    assert delivery.status == "delivered"
    assert delivery.attempts == 2
    assert [r.json() for r in slack.requests] == [{"text": "Order #42 shipped"}] * 2
    assert timeline(delivery) == ["queued", "sending", "retrying", "sending", "delivered"]
    entries = delivery.steps
    assert entries[2].attempt == 1 and "500" in entries[2].detail
    assert entries[4].attempt == 2


def test_a_hanging_provider_times_out_and_is_retried(api, channels, slack, settings):
    settings.ONEPING_HTTP_READ_TIMEOUT = 0.3
    slack.answer(Canned(200, "ok", delay=1.5))
    body = send(api)

    delivery = attempt(body["deliveries"][0]["id"])

    assert delivery.status == "retrying"
    assert "timed out" in delivery.last_error


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (404, "no_service"),
        (403, "invalid_token"),
        (410, "channel_is_archived"),
        (400, "invalid_payload"),
    ],
)
def test_slack_permanent_errors_fail_at_once(api, channels, slack, status, text):
    slack.answer(Canned(status, text))
    body = send(api)

    delivery = attempt(body["deliveries"][0]["id"])

    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert text in delivery.last_error
    assert timeline(delivery) == ["queued", "sending", "failed"]
    assert Message.objects.get().status == "failed"


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (400, "Bad Request: chat not found"),
        (403, "Forbidden: bot was blocked by the user"),
        (401, "Unauthorized"),
    ],
)
def test_telegram_permanent_errors_fail_at_once(api, channels, telegram, status, description):
    telegram.answer(FakeTelegram.error(status, description))
    body = send(api, channels=["telegram"], recipient="4242")

    delivery = attempt(body["deliveries"][0]["id"])

    assert delivery.status == "failed"
    assert description in delivery.last_error


def test_after_the_last_attempt_the_delivery_fails(api, channels, slack):
    slack.default = Canned(503, "unavailable")
    body = send(api)
    delivery_id = body["deliveries"][0]["id"]

    for _ in range(10):  # more calls than attempts: the extra ones must do nothing
        attempt(delivery_id)

    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == "failed"
    assert delivery.attempts == 4  # 1 + the three retries of the test schedule
    assert len(slack.requests) == 4
    assert timeline(delivery).count("retrying") == 3


def test_retry_false_means_one_attempt(api, channels, slack):
    slack.default = Canned(500, "down")
    body = send(api, retry=False)

    delivery = attempt(body["deliveries"][0]["id"])

    assert delivery.status == "failed"
    assert delivery.attempts == 1


def test_a_final_delivery_is_never_sent_again(api, channels, slack):
    body = send(api)
    delivery_id = body["deliveries"][0]["id"]
    attempt(delivery_id)

    attempt(delivery_id)
    attempt(delivery_id)

    assert len(slack.requests) == 1


def test_a_delivery_claimed_by_another_worker_is_not_sent_twice(api, channels, slack):
    body = send(api)
    delivery_id = body["deliveries"][0]["id"]
    lease = timezone.now() + timedelta(minutes=2)
    Delivery.objects.filter(pk=delivery_id).update(status="sending", lease_expires_at=lease)

    attempt(delivery_id)
    assert slack.requests == []

    # Once the other worker's lease has run out (it died), the delivery can be taken over.
    Delivery.objects.filter(pk=delivery_id).update(lease_expires_at=timezone.now())
    assert attempt(delivery_id).status == "delivered"


def test_connection_errors_never_leak_the_bot_token(api, channels, settings):
    settings.ONEPING_TELEGRAM_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    body = send(api, channels=["telegram"], recipient="4242")

    delivery = attempt(body["deliveries"][0]["id"])

    assert delivery.status == "retrying"
    assert "could not connect" in delivery.last_error
    assert TELEGRAM_TOKEN not in delivery.last_error
    assert TELEGRAM_TOKEN.split(":")[1] not in "".join(
        delivery.timeline.values_list("detail", flat=True)
    )


def test_email_reaches_a_real_smtp_server(api, channels, smtp):
    body = send(
        api,
        channels=["email"],
        recipient="jane@example.com",
        subject="Your order",
        message="It shipped.",
    )

    delivery = attempt(body["deliveries"][0]["id"])

    assert delivery.status == "sent"
    [received] = smtp.messages
    assert received["from"] == "alerts@acme.test"
    assert received["to"] == ["jane@example.com"]
    assert "Subject: Your order" in received["data"]
    assert "It shipped." in received["data"]
    assert delivery.provider_message_id in received["data"]  # our Message-ID header


def test_email_through_the_platform_mail_settings(api, account, smtp, settings):
    from channels_app.models import ChannelConfig

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
    settings.DEFAULT_FROM_EMAIL = "noreply@oneping.test"
    ChannelConfig.objects.create(account=account, kind="email", config={})
    body = send(api, channels=["email"], recipient="bob@example.com")

    assert attempt(body["deliveries"][0]["id"]).status == "sent"
    assert smtp.messages[0]["from"] == "noreply@oneping.test"


def test_smtp_refused_recipient_is_permanent_and_451_is_transient(api, channels, smtp):
    smtp.handler.refuse = {
        "nobody@example.com": "550 5.1.1 No such user",
        "busy@example.com": "451 4.2.1 Mailbox busy, try later",
    }
    refused = send(api, channels=["email"], recipient="nobody@example.com")
    busy = send(api, channels=["email"], recipient="busy@example.com")

    failed = attempt(refused["deliveries"][0]["id"])
    retrying = attempt(busy["deliveries"][0]["id"])

    assert failed.status == "failed"
    assert "550" in failed.last_error and "No such user" in failed.last_error
    assert retrying.status == "retrying"
    assert "451" in retrying.last_error


def test_fallback_runs_only_after_every_primary_failed(api, channels, slack, discord, telegram):
    slack.answer(Canned(404, "no_service"))
    telegram.answer(FakeTelegram.error(400, "Bad Request: chat not found"))
    body = send(
        api, channels=["slack", "telegram"], recipient="4242", fallback_channels=["discord"]
    )
    slack_id, telegram_id, discord_id = (d["id"] for d in body["deliveries"])

    attempt(slack_id)
    assert Delivery.objects.get(pk=discord_id).status == "standby"  # telegram still pending
    attempt(telegram_id)
    assert Delivery.objects.get(pk=discord_id).status == "queued"

    fallback = attempt(discord_id)

    assert fallback.status == "delivered"
    assert len(discord.requests) == 1
    assert Message.objects.get().status == "partially_failed"


def test_fallbacks_are_tried_one_at_a_time_in_order(api, channels, slack, discord, telegram):
    slack.default = Canned(404, "no_service")
    discord.answer(Canned(404, {"message": "Unknown Webhook", "code": 10015}))
    body = send(api, fallback_channels=["discord", "telegram"], recipient="4242")
    slack_id, discord_id, telegram_id = (d["id"] for d in body["deliveries"])

    attempt(slack_id)
    assert Delivery.objects.get(pk=telegram_id).status == "standby"
    attempt(discord_id)
    assert attempt(telegram_id).status == "delivered"
    assert Message.objects.get().status == "partially_failed"


def test_no_fallback_when_the_primary_succeeds(api, channels, slack, discord):
    body = send(api, fallback_channels=["discord"])
    slack_id, discord_id = (d["id"] for d in body["deliveries"])

    attempt(slack_id)

    assert Delivery.objects.get(pk=discord_id).status == "skipped"
    assert discord.requests == []
    assert Message.objects.get().status == "delivered"


def test_a_failed_delivery_is_listed_and_can_be_retried(api, channels, slack):
    slack.answer(Canned(404, "no_service"))
    body = send(api)
    delivery_id = body["deliveries"][0]["id"]
    attempt(delivery_id)

    dead_letters = api.get("/api/v1/deliveries?status=failed").json()["results"]
    assert [d["id"] for d in dead_letters] == [delivery_id]

    response = api.post_json(f"/api/v1/deliveries/{delivery_id}/retry")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    delivery = attempt(delivery_id)

    assert delivery.status == "delivered"
    assert delivery.attempts == 2
    assert Message.objects.get().status == "delivered"
    conflict = api.post_json(f"/api/v1/deliveries/{delivery_id}/retry")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "delivery_not_failed"


def test_the_admin_reprocesses_failed_deliveries(api, channels, slack, admin_client):
    slack.answer(Canned(404, "no_service"))
    delivery_id = send(api)["deliveries"][0]["id"]
    attempt(delivery_id)

    response = admin_client.post(
        "/admin/channels_app/delivery/",
        {"action": "reprocess", "_selected_action": [delivery_id]},
        follow=True,
    )

    assert "Queued 1 deliveries again." in response.content.decode()
    assert Delivery.objects.get(pk=delivery_id).status == "queued"
    assert attempt(delivery_id).status == "delivered"


def test_admin_pages_render(admin_client, api, channels):
    message_id = send(api)["id"]
    delivery_id = Delivery.objects.get().pk
    for url in (
        "/admin/channels_app/message/",
        f"/admin/channels_app/message/{message_id}/change/",
        "/admin/channels_app/delivery/",
        f"/admin/channels_app/delivery/{delivery_id}/change/",
        "/admin/channels_app/channelconfig/",
        "/admin/channels_app/contact/",
        "/admin/accounts/account/",
        "/admin/accounts/apikey/",
        "/admin/django_celery_beat/periodictask/",
    ):
        assert admin_client.get(url).status_code == 200, url
