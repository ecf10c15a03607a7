"""Send → delivered through a real Celery worker consuming from the configured broker
(Redis in the PostgreSQL profile, the filesystem transport in the embedded one)."""

import pytest

from channels_app.models import Delivery, Message
from tests.conftest import wait_until
from tests.fakes import Canned, FakeTelegram

pytestmark = pytest.mark.worker


def final(message_id: str) -> Message:
    return wait_until(
        lambda: Message.objects.filter(
            pk=message_id, status__in=["delivered", "failed", "partially_failed"]
        ).first()
    )


def test_send_to_two_channels_is_delivered_by_the_worker(
    api, channels, slack, telegram, celery_worker
):
    response = api.post_json(
        "/api/v1/send",
        {"message": "Build #7 passed", "channels": ["slack", "telegram"], "recipient": "4242"},
    )
    assert response.status_code == 202

    message = final(response.json()["id"])

    assert message.status == "delivered"
    assert slack.requests[0].json() == {"text": "Build #7 passed"}
    assert telegram.requests[0].json() == {"chat_id": "4242", "text": "Build #7 passed"}
    log = api.get(f"/api/v1/messages/{message.pk}").json()
    assert {d["status"] for d in log["deliveries"]} == {"delivered"}


def test_rate_limited_delivery_is_retried_by_the_worker(api, channels, telegram, celery_worker):
    telegram.answer(FakeTelegram.rate_limited(retry_after=1))
    response = api.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["telegram"], "recipient": "4242"}
    )

    message = final(response.json()["id"])

    delivery = Delivery.objects.get(message=message)
    assert delivery.status == "delivered"
    assert delivery.attempts == 2
    assert len(telegram.requests) == 2
    # A wait for the chat's next token after the pause may come between (pacing's own).
    statuses = [step.status for step in delivery.steps if not step.detail.startswith("paced")]
    assert statuses == ["queued", "sending", "retrying", "sending", "delivered"]


def test_fallback_through_the_worker(api, channels, slack, discord, celery_worker):
    slack.default = Canned(404, "no_service")
    response = api.post_json(
        "/api/v1/send",
        {
            "message": "Server down",
            "channels": ["slack"],
            "recipient": "ops",
            "fallback_channels": ["discord"],
        },
    )

    message = final(response.json()["id"])

    assert message.status == "partially_failed"
    assert [d.status for d in message.deliveries.order_by("fallback_order")] == [
        "failed",
        "delivered",
    ]
    assert discord.requests[0].json() == {"content": "Server down"}


def test_channel_test_send_goes_through_the_worker_and_is_not_counted(
    api, channels, slack, celery_worker
):
    channel_id = channels["slack"].pk

    response = api.post_json(f"/api/v1/channels/{channel_id}/test", {})

    assert response.status_code == 202
    delivery_id = response.json()["delivery_id"]
    wait_until(lambda: Delivery.objects.filter(pk=delivery_id, status="delivered").exists())
    assert "test message" in slack.requests[0].json()["text"].lower()
    assert api.get("/api/v1/account").json()["usage"]["used"] == 0


def test_delivery_status_webhooks_flow_through_the_worker(api, channels, slack, celery_worker):
    import standardwebhooks.webhooks

    from tests.fakes import FakeHTTPProvider

    receiver = FakeHTTPProvider(default=Canned(200, "ok")).start()
    try:
        endpoint = api.post_json("/api/v1/webhook-endpoints", {"url": receiver.url}).json()
        slack.answer(Canned(503, "busy"))
        response = api.post_json(
            "/api/v1/send", {"message": "hi", "channels": ["slack"], "recipient": "ops"}
        )
        final(response.json()["id"])

        requests = receiver.wait_for(2)
        events = [r.json()["event"] for r in requests]
        assert sorted(events) == ["message.delivered", "message.retrying"]
        for request in requests:
            standardwebhooks.webhooks.Webhook(endpoint["secret"]).verify(
                request.body, request.headers
            )
        by_type = {r.json()["event"]: r.json()["data"]["sequence"] for r in requests}
        assert by_type["message.retrying"] < by_type["message.delivered"]
    finally:
        receiver.stop()


def test_signed_inbound_webhook_becomes_one_notification_through_the_worker(
    api, channels, slack, celery_worker
):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    from tests.inbound_helpers import fixture, shopify_headers
    from webhooks.models import InboundEvent

    secret = "shpss_e2e"
    endpoint = api.post_json(
        "/api/v1/inbound-endpoints",
        {
            "name": "shop",
            "verification": "shopify",
            "secret": secret,
            "rules": [
                {
                    "event": "orders/create",
                    "message": "Order {{ name }} for {{ total_price }} {{ currency }}",
                    "channels": ["slack"],
                    "recipient": "sales",
                }
            ],
        },
    ).json()
    body = fixture("shopify_orders_create.json")
    headers = shopify_headers(secret, body, "orders/create", "same-webhook-id")
    path = endpoint["url"].split("testserver", 1)[-1]

    def deliver(_):
        try:
            return Client().post(path, body, content_type="application/json", **headers)
        finally:
            connection.close()

    # Shopify retries and duplicates: 20 identical deliveries at once.
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = {response.status_code for response in pool.map(deliver, range(20))}

    assert statuses == {200}
    event = wait_until(lambda: InboundEvent.objects.filter(status="processed").first())
    final(event.message_id)
    assert [r.json() for r in slack.requests] == [{"text": "Order #9999 for 403.00 USD"}]
    assert Message.objects.count() == 1
