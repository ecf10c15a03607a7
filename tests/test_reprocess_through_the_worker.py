"""Dead letters reprocessed from the admin and from the dashboard reach a real worker and
end delivered / succeeded / processed (not merely "queued again")."""

import pytest
from django.test import Client

from channels_app.models import Delivery, Message
from tests.conftest import wait_until
from tests.fakes import Canned
from webhooks import events
from webhooks.models import InboundEvent, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.worker
WAIT = 60.0  # seconds: generous, the machine may be loaded


def status_of(model, pk: str, *statuses: str):
    return wait_until(
        lambda: model.objects.filter(pk=pk, status__in=statuses).first(), timeout=WAIT
    )


@pytest.fixture
def dead_letters(api, account, channels, slack, receiver, celery_worker) -> dict[str, str]:
    """One dead letter of each kind, each failed by the worker the way production fails it."""
    # A delivery: Slack says the webhook is gone (permanent), once.
    slack.answer(Canned(404, "no_service"))
    accepted = api.post_json(
        "/api/v1/send", {"message": "disk full", "channels": ["slack"], "recipient": "ops"}
    ).json()
    delivery_id = accepted["deliveries"][0]["id"]
    assert status_of(Delivery, delivery_id, "failed", "delivered").status == "failed"

    # An inbound event: its rule names a variable the payload lacks.
    inbound = api.post_json(
        "/api/v1/inbound-endpoints",
        {
            "name": "hook",
            "verification": "none",
            "rules": [
                {"event": "*", "message": "{{ nope }}", "channels": ["slack"], "recipient": "o"}
            ],
        },
    ).json()
    received = Client().post(
        inbound["url"].split("testserver", 1)[-1],
        b'{"event": "x", "fixed": "rule fixed"}',
        content_type="application/json",
    )
    inbound_event_id = received.json()["id"]
    assert status_of(InboundEvent, inbound_event_id, "failed", "processed").status == "failed"
    api.patch(
        f"/api/v1/inbound-endpoints/{inbound['id']}",
        {
            "rules": [
                {"event": "*", "message": "{{ fixed }}", "channels": ["slack"], "recipient": "o"}
            ]
        },
        content_type="application/json",
    )

    # A webhook delivery: the receiver fails every attempt of the (test) schedule.
    endpoint = WebhookEndpoint.objects.get(
        pk=api.post_json("/api/v1/webhook-endpoints", {"url": f"{receiver.url}/hooks"}).json()["id"]
    )
    receiver.answer(*[Canned(500, "oops")] * events.max_attempts())
    event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
    webhook_id = WebhookDelivery.objects.get(event=event).pk
    assert status_of(WebhookDelivery, webhook_id, "failed", "succeeded").status == "failed"

    return {"delivery": delivery_id, "inbound": inbound_event_id, "webhook": webhook_id}


def assert_all_recovered(dead_letters: dict[str, str], slack) -> None:
    delivery = status_of(Delivery, dead_letters["delivery"], "delivered", "failed")
    assert delivery.status == "delivered"
    assert Message.objects.get(pk=delivery.message_id).status == "delivered"
    assert status_of(InboundEvent, dead_letters["inbound"], "processed", "failed").status == (
        "processed"
    )
    wait_until(lambda: {"text": "rule fixed"} in [r.json() for r in slack.requests], WAIT)
    webhook = status_of(WebhookDelivery, dead_letters["webhook"], "succeeded", "failed")
    assert webhook.status == "succeeded"


def test_the_admin_reprocess_actions_reach_a_worker(admin_client, dead_letters, slack):
    for changelist, key in [
        ("channels_app/delivery", "delivery"),
        ("webhooks/webhookdelivery", "webhook"),
        ("webhooks/inboundevent", "inbound"),
    ]:
        response = admin_client.post(
            f"/admin/{changelist}/",
            {"action": "reprocess", "_selected_action": [dead_letters[key]]},
            follow=True,
        )
        assert "Queued 1 " in response.content.decode(), changelist

    assert_all_recovered(dead_letters, slack)


def test_the_dashboard_reprocess_reaches_a_worker(client, owner, dead_letters, slack):
    client.force_login(owner)
    for kind in ("deliveries", "webhooks", "inbound"):
        response = client.post("/failed/reprocess/", {"kind": kind, "action": "all"}, follow=True)
        assert "Queued 1 for reprocessing." in response.content.decode(), kind

    assert_all_recovered(dead_letters, slack)
