"""Delivery-status webhooks: signed (checked with standardwebhooks and svix), retried,
replayable, with an attempt log."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import standardwebhooks.webhooks
import svix.webhooks
from django.db import connection
from django.utils import timezone

from channels_app import delivery as delivery_service
from tests.conftest import unpaced
from tests.fakes import Canned, FakeHTTPProvider
from webhooks import sending
from webhooks.endpoints import auto_disable
from webhooks.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


@pytest.fixture
def channels(channels):
    # Messages and retries sent at once by hand for the events they make, not pacing
    # (tests/conftest.py unpaced).
    unpaced(*channels.values())
    return channels


@pytest.fixture
def endpoint(api, receiver) -> dict:
    response = api.post_json(
        "/api/v1/webhook-endpoints", {"url": f"{receiver.url}/hooks", "description": "ours"}
    )
    assert response.status_code == 201, response.content
    return response.json()


def send_and_deliver(api, **fields) -> dict:
    body = {"message": "Order shipped", "channels": ["slack"], "recipient": "ops"}
    body.update(fields)
    accepted = api.post_json("/api/v1/send", body).json()
    for delivery in accepted["deliveries"]:
        delivery_service.attempt(delivery["id"])
    return accepted


def send_pending_webhooks() -> None:
    for pk in WebhookDelivery.objects.filter(status="pending").values_list("pk", flat=True):
        sending.attempt(pk)


def verify_both(secret: str, request) -> None:
    """Raises unless both independent libraries accept the request."""
    standardwebhooks.webhooks.Webhook(secret).verify(request.body, request.headers)
    svix.webhooks.Webhook(secret).verify(request.body, request.headers)


def test_creating_an_endpoint_shows_its_secret_once_and_on_request(api, endpoint):
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/secret").json() == {
        "secret": secret
    }
    assert secret not in api.get("/api/v1/webhook-endpoints").content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint")
        [(stored,)] = cursor.fetchall()
    assert secret not in stored  # encrypted at rest


def test_a_real_send_reaches_the_receiver_signed(api, channels, endpoint, receiver):
    accepted = send_and_deliver(api, metadata={"order": 42})
    send_pending_webhooks()

    [request] = receiver.requests
    verify_both(endpoint["secret"], request)
    payload = request.json()
    assert payload["event"] == "message.delivered"
    assert payload["id"].startswith("evt_")
    assert request.headers["webhook-id"] == payload["id"]
    assert payload["timestamp"].endswith("Z")
    data = payload["data"]
    assert data["message_id"] == accepted["id"]
    assert data["delivery_id"] == accepted["deliveries"][0]["id"]
    assert data["channel"] == "slack"
    assert data["recipient"] == "ops"
    assert data["status"] == "delivered"
    assert data["attempt"] == 1
    assert data["metadata"] == {"order": 42}
    assert data["sequence"] == 1
    assert request.headers["User-Agent"].startswith("oneping-webhooks/")
    assert request.headers["Content-Type"] == "application/json"
    expected = hmac.new(endpoint["secret"].encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Webhook-Signature"] == expected


def test_tampered_bodies_and_wrong_secrets_fail_verification(api, channels, endpoint, receiver):
    send_and_deliver(api)
    send_pending_webhooks()
    [request] = receiver.requests
    tampered = request.body.replace(b"delivered", b"failed")

    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.webhooks.Webhook(endpoint["secret"]).verify(tampered, request.headers)
    with pytest.raises(svix.webhooks.WebhookVerificationError):
        svix.webhooks.Webhook(endpoint["secret"]).verify(tampered, request.headers)
    other = api.post_json("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/x"}).json()
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.webhooks.Webhook(other["secret"]).verify(request.body, request.headers)


def test_a_500_is_retried_then_delivered_with_the_same_webhook_id(
    api, channels, endpoint, receiver
):
    receiver.answer(Canned(500, "oops"))
    send_and_deliver(api)
    [webhook_delivery] = WebhookDelivery.objects.all()

    sending.attempt(webhook_delivery.pk)
    webhook_delivery.refresh_from_db()
    assert webhook_delivery.status == "retrying"
    sending.attempt(webhook_delivery.pk)

    webhook_delivery.refresh_from_db()
    assert webhook_delivery.status == "succeeded"
    assert webhook_delivery.attempts == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    verify_both(endpoint["secret"], second)
    log = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/attempts").json()["results"]
    assert [(a["status_code"], a["trigger"]) for a in log] == [
        (200, "scheduled"),
        (500, "scheduled"),
    ]
    assert log[1]["response_body"] == "oops"
    assert log[0]["duration_ms"] >= 0
    assert log[0]["event_type"] == "message.delivered"


def test_429_retry_after_is_respected(api, channels, endpoint, receiver):
    receiver.answer(Canned(429, "slow down", headers={"Retry-After": "120"}))
    send_and_deliver(api)
    send_pending_webhooks()

    webhook_delivery = WebhookDelivery.objects.get()
    assert webhook_delivery.status == "retrying"
    assert (webhook_delivery.next_attempt_at - timezone.now()).total_seconds() > 110


def test_410_disables_the_endpoint_with_the_reason(api, channels, endpoint, receiver):
    receiver.answer(Canned(410, "gone"))
    send_and_deliver(api)
    send_pending_webhooks()

    shown = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()
    assert shown["enabled"] is False
    assert "410" in shown["disabled_reason"]
    assert WebhookDelivery.objects.get().status == "failed"

    # A disabled endpoint receives nothing.
    send_and_deliver(api)
    send_pending_webhooks()
    assert len(receiver.requests) == 1


def test_a_hanging_receiver_times_out_and_is_retried(api, channels, endpoint, receiver, settings):
    settings.ONEPING_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answer(Canned(200, "late", delay=1.5))
    send_and_deliver(api)
    send_pending_webhooks()

    webhook_delivery = WebhookDelivery.objects.get()
    assert webhook_delivery.status == "retrying"
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "Timed out" in attempt.error


def test_after_the_last_attempt_the_webhook_is_a_dead_letter(api, channels, endpoint, receiver):
    receiver.default = Canned(503, "down")
    send_and_deliver(api)
    pk = WebhookDelivery.objects.get().pk

    for _ in range(8):
        sending.attempt(pk)

    webhook_delivery = WebhookDelivery.objects.get()
    assert webhook_delivery.status == "failed"
    assert webhook_delivery.attempts == 4  # first try + the 3 retries of the test schedule


def test_rotation_signs_with_both_secrets_during_the_overlap(api, channels, endpoint, receiver):
    old = endpoint["secret"]
    new = api.post_json(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret").json()[
        "secret"
    ]
    assert new != old and new.startswith("whsec_")

    send_and_deliver(api)
    send_pending_webhooks()
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verify_both(old, during)
    verify_both(new, during)

    WebhookEndpoint.objects.update(previous_secret_expires_at=timezone.now() - timedelta(1))
    send_and_deliver(api)
    send_pending_webhooks()
    after = receiver.requests[-1]
    verify_both(new, after)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.webhooks.Webhook(old).verify(after.body, after.headers)


def test_replay_and_recover_resend_with_the_same_webhook_id(api, channels, endpoint, receiver):
    receiver.default = Canned(500, "down")
    send_and_deliver(api)
    pk = WebhookDelivery.objects.get().pk
    for _ in range(4):
        sending.attempt(pk)
    assert WebhookDelivery.objects.get().status == "failed"
    event = Event.objects.get()
    receiver.default = Canned(200, "ok")

    replayed = api.post_json(f"/api/v1/events/{event.pk}/replay")
    assert replayed.status_code == 202
    assert replayed.json() == {"queued": 1}
    send_pending_webhooks()
    assert WebhookDelivery.objects.get().status == "succeeded"

    WebhookDelivery.objects.update(status="failed")
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    recovered = api.post_json(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/recover", {"since": since}
    )
    assert recovered.json() == {"queued": 1}
    send_pending_webhooks()

    ids = {request.headers["webhook-id"] for request in receiver.requests}
    assert ids == {event.pk}
    triggers = list(WebhookAttempt.objects.order_by("at", "id").values_list("trigger", flat=True))
    assert triggers[-2:] == ["manual", "manual"]


def test_replay_to_one_endpoint(api, channels, endpoint, receiver):
    send_and_deliver(api)
    send_pending_webhooks()
    event = Event.objects.get()

    response = api.post_json(f"/api/v1/events/{event.pk}/replay", {"endpoint_id": endpoint["id"]})
    assert response.json() == {"queued": 1}
    missing = api.post_json(f"/api/v1/events/{event.pk}/replay", {"endpoint_id": "we_nope"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0x7f000001/hook",
    ],
)
def test_private_urls_are_refused_when_saved(api, settings, url):
    settings.ONEPING_ALLOW_PRIVATE_URLS = False
    response = api.post_json("/api/v1/webhook-endpoints", {"url": url})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "url_not_allowed"


def test_private_urls_are_refused_again_at_send_time(api, channels, endpoint, receiver, settings):
    send_and_deliver(api)
    settings.ONEPING_ALLOW_PRIVATE_URLS = False
    send_pending_webhooks()

    assert receiver.requests == []
    webhook_delivery = WebhookDelivery.objects.get()
    assert webhook_delivery.status == "failed"
    assert "not allowed" in webhook_delivery.last_error


def test_event_type_filters_are_respected(api, channels, receiver, slack):
    only_failures = api.post_json(
        "/api/v1/webhook-endpoints",
        {"url": f"{receiver.url}/f", "event_types": ["message.failed"]},
    ).json()
    slack.answer(Canned(404, "no_service"))
    send_and_deliver(api)  # fails
    send_and_deliver(api)  # delivered
    send_pending_webhooks()

    assert [r.json()["event"] for r in receiver.requests] == ["message.failed"]
    bad = api.post_json(
        "/api/v1/webhook-endpoints", {"url": receiver.url, "event_types": ["message.lost"]}
    )
    assert bad.json()["error"]["code"] == "unknown_event_type"
    assert only_failures["event_types"] == ["message.failed"]


def test_callback_url_gets_the_messages_events_signed_with_the_account_secret(
    api, channels, receiver
):
    secret = api.get("/api/v1/account/signing-secret").json()["secret"]
    assert secret.startswith("whsec_")

    send_and_deliver(api, callback_url=f"{receiver.url}/cb")
    send_pending_webhooks()

    [request] = receiver.requests
    assert request.path == "/cb"
    verify_both(secret, request)


def test_events_are_listed_filtered_and_sequenced_per_message(api, channels, slack, endpoint):
    slack.answer(Canned(500, "x"))
    accepted = send_and_deliver(api)  # retrying
    delivery_service.attempt(accepted["deliveries"][0]["id"])  # delivered

    listed = api.get(f"/api/v1/events?message={accepted['id']}").json()["results"]
    assert [(e["type"], e["sequence"]) for e in listed] == [
        ("message.delivered", 2),
        ("message.retrying", 1),
    ]
    assert listed[1]["payload"]["data"]["error"].startswith("Slack answered 500")
    retrying = api.get("/api/v1/events?type=message.retrying").json()["results"]
    assert [e["type"] for e in retrying] == ["message.retrying"]
    assert api.get("/api/v1/events?type=nope").status_code == 400


def test_test_event_goes_to_the_endpoint(api, endpoint, receiver):
    response = api.post_json(f"/api/v1/webhook-endpoints/{endpoint['id']}/test")
    assert response.status_code == 202
    send_pending_webhooks()

    [request] = receiver.requests
    assert request.json()["event"] == "webhook.test"
    verify_both(endpoint["secret"], request)


def test_disabled_endpoint_keeps_pending_deliveries_and_resumes_when_enabled(
    api, channels, endpoint, receiver
):
    url = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    send_and_deliver(api)
    api.patch(url, {"enabled": False}, content_type="application/json")
    send_pending_webhooks()
    assert receiver.requests == []
    assert WebhookDelivery.objects.get().status == "pending"

    api.patch(url, {"enabled": True}, content_type="application/json")
    send_pending_webhooks()
    assert len(receiver.requests) == 1


def test_endpoints_failing_for_five_days_are_disabled(api, channels, endpoint, receiver):
    receiver.default = Canned(500, "down")
    send_and_deliver(api)
    send_pending_webhooks()
    assert auto_disable() == 0

    WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(days=5, hours=1))
    assert auto_disable() == 1

    shown = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()
    assert shown["enabled"] is False
    assert "5 days" in shown["disabled_reason"]


def test_a_success_clears_the_failing_streak(api, channels, endpoint, receiver):
    receiver.answer(Canned(500, "x"))
    send_and_deliver(api)
    send_pending_webhooks()
    assert WebhookEndpoint.objects.get().failing_since is not None
    send_pending_webhooks()  # nothing pending: the retry is 'retrying'
    sending.attempt(WebhookDelivery.objects.get().pk)
    assert WebhookEndpoint.objects.get().failing_since is None


def test_other_accounts_endpoints_and_events_are_404(
    api, channels, endpoint, make_account, make_api_client
):
    send_and_deliver(api)
    event = Event.objects.get()
    stranger = make_api_client(make_account("Stranger"))
    base = f"/api/v1/webhook-endpoints/{endpoint['id']}"

    for url in (base, f"{base}/secret", f"{base}/attempts", f"/api/v1/events/{event.pk}"):
        assert stranger.get(url).status_code == 404, url
    for url in (f"{base}/rotate-secret", f"{base}/test", f"/api/v1/events/{event.pk}/replay"):
        assert stranger.post_json(url).status_code == 404, url
    assert stranger.get("/api/v1/events").json()["results"] == []
    assert stranger.delete(base).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint["id"]).exists()
    other_secret = stranger.get("/api/v1/account/signing-secret").json()["secret"]
    assert other_secret != api.get("/api/v1/account/signing-secret").json()["secret"]


def test_event_bodies_are_stable_json(api, channels, endpoint):
    send_and_deliver(api)
    event = Event.objects.get()
    assert json.loads(event.body)["id"] == event.pk


def test_the_admin_reprocesses_failed_webhook_deliveries(
    api, channels, endpoint, receiver, admin_client
):
    receiver.answer(Canned(410, "gone"))
    send_and_deliver(api)
    send_pending_webhooks()
    pk = WebhookDelivery.objects.get().pk
    admin_client.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "enable", "_selected_action": [endpoint["id"]]},
    )

    response = admin_client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "reprocess", "_selected_action": [pk]},
        follow=True,
    )

    assert "Queued 1 webhook deliveries again." in response.content.decode()
    send_pending_webhooks()
    assert WebhookDelivery.objects.get().status == "succeeded"
    for url in ("/admin/webhooks/event/", "/admin/webhooks/webhookattempt/"):
        assert admin_client.get(url).status_code == 200


def test_a_first_wave_and_its_events_go_out_together(api, channels, slack, discord, receiver):
    """One task per message's first wave, one per event's receivers: sent side by side,
    recorded together, still one signed webhook per receiver and per event, in sequence."""
    second = FakeHTTPProvider(default=Canned(200, "thanks")).start()
    try:
        endpoints = [
            api.post_json("/api/v1/webhook-endpoints", {"url": f"{server.url}/hooks"}).json()
            for server in (receiver, second)
        ]
        accepted = api.post_json(
            "/api/v1/send",
            {
                "message": "Order shipped",
                "channels": ["slack", "discord"],
                "recipient": "ops",
                "callback_url": f"{receiver.url}/callback",
            },
        ).json()

        delivery_service.attempt_many([d["id"] for d in accepted["deliveries"]])
        events = Event.objects.filter(message_id=accepted["id"]).order_by("sequence")
        for event in events:
            sending.attempt_many(list(event.webhook_deliveries.values_list("pk", flat=True)))

        assert len(slack.requests) == len(discord.requests) == 1
        assert [e.type for e in events] == ["message.delivered"] * 2
        assert [e.sequence for e in events] == [1, 2]
        assert {e.delivery_id for e in events} == {d["id"] for d in accepted["deliveries"]}
        assert WebhookDelivery.objects.exclude(status="succeeded").count() == 0
        for endpoint, server in zip(endpoints, (receiver, second), strict=True):
            hooks = [r for r in server.requests if r.path == "/hooks"]
            assert len(hooks) == 2
            for request in hooks:
                verify_both(endpoint["secret"], request)
        callbacks = [r for r in receiver.requests if r.path == "/callback"]
        assert sorted(r.json()["data"]["sequence"] for r in callbacks) == [1, 2]
        assert WebhookAttempt.objects.count() == 6
    finally:
        second.stop()
