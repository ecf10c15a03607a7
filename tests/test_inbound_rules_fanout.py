"""The seed's fan-out through receive → worker: one Shopify order notifies the customer by
email and the sales team on Slack (two messages, two of the quota); reprocessing never
sends twice; a quota that runs out midway fails the event, and reprocessing sends the rest."""

import pytest
from django.test import Client

from accounts.models import Plan
from accounts.usage import usage_for
from channels_app.models import Message
from tests.conftest import wait_until
from tests.inbound_helpers import create_inbound_endpoint, fixture, inbound_path, shopify_headers
from webhooks.models import InboundEvent

pytestmark = pytest.mark.worker
WAIT = 60.0  # seconds: generous, the machine may be loaded
SECRET = "shpss_fanout"
ORDER_RULES = [
    {
        "id": "customer-email",
        "event": "orders/create",
        "message": "Thanks {{ customer.first_name }}, we got order #{{ order_number }}.",
        "subject": "Your order #{{ order_number }}",
        "channels": ["email"],
        "recipient": "{{ customer.email }}",
        "metadata": {"order": "{{ order_number }}"},
    },
    {
        "id": "sales-slack",
        "event": "orders/create",
        "message": "New order #{{ order_number }}: ${{ total_price }}",
        "channels": ["slack"],
        "recipient": "sales",
    },
]


@pytest.fixture
def plan_of(account):
    def set_quota(quota: int) -> None:
        account.plan = Plan.objects.create(
            name=f"q{quota}", display_name=f"Quota {quota}", monthly_quota=quota
        )
        account.save(update_fields=["plan"])

    return set_quota


def receive_order(endpoint: dict, webhook_id: str = "w-1") -> str:
    body = fixture("shopify_orders_create.json")
    response = Client().post(
        inbound_path(endpoint),
        body,
        content_type="application/json",
        **shopify_headers(SECRET, body, "orders/create", webhook_id),
    )
    assert response.status_code == 200, response.content
    return response.json()["id"]


def finished(event_id: str) -> InboundEvent:
    return wait_until(
        lambda: InboundEvent.objects.filter(
            pk=event_id, status__in=["processed", "failed"]
        ).first(),
        timeout=WAIT,
    )


def test_an_order_emails_the_customer_and_tells_sales_on_slack(
    api, account, channels, slack, smtp, plan_of, celery_worker
):
    plan_of(2)
    endpoint = create_inbound_endpoint(
        api, verification="shopify", secret=SECRET, rules=ORDER_RULES
    )
    assert endpoint["rule_mode"] == "all"

    event_id = receive_order(endpoint)

    assert finished(event_id).status == "processed"
    wait_until(lambda: smtp.messages and slack.requests, timeout=WAIT)
    [mail] = smtp.messages
    assert mail["to"] == ["john@example.com"]
    assert "Thanks John, we got order #1234." in mail["data"]
    assert "Subject: Your order #1234" in mail["data"]
    assert slack.requests[0].json() == {"text": "New order #1234: $403.00"}
    assert usage_for(account).used == 2
    detail = api.get(f"/api/v1/inbound-events/{event_id}").json()
    made = detail["messages"]
    assert [(m["rule"], m["recipient"], m["channels"]) for m in made] == [
        ("customer-email", "john@example.com", ["email"]),
        ("sales-slack", "sales", ["slack"]),
    ]
    assert detail["message_id"] == made[0]["id"]
    assert Message.objects.get(pk=made[0]["id"]).metadata == {"order": "1234"}


def test_reprocessing_a_fanned_out_event_sends_nothing_twice(
    api, account, channels, slack, smtp, plan_of, celery_worker
):
    plan_of(10)
    endpoint = create_inbound_endpoint(
        api, verification="shopify", secret=SECRET, rules=ORDER_RULES
    )
    event_id = receive_order(endpoint)
    assert finished(event_id).status == "processed"
    # As if it had failed after both messages were accepted (a later rule's refusal).
    InboundEvent.objects.filter(pk=event_id).update(status="failed")

    assert api.post_json(f"/api/v1/inbound-events/{event_id}/reprocess").json() == {"queued": 1}

    assert finished(event_id).status == "processed"
    wait_until(lambda: smtp.messages and slack.requests, timeout=WAIT)
    assert Message.objects.count() == 2
    assert usage_for(account).used == 2
    assert len(api.get(f"/api/v1/inbound-events/{event_id}").json()["messages"]) == 2


def test_a_quota_running_out_midway_fails_the_event_and_reprocessing_sends_the_rest(
    api, account, channels, slack, smtp, plan_of, celery_worker
):
    plan_of(1)
    endpoint = create_inbound_endpoint(
        api, verification="shopify", secret=SECRET, rules=ORDER_RULES
    )

    event_id = receive_order(endpoint)

    failed = finished(event_id)
    assert failed.status == "failed"
    [first] = Message.objects.all()
    assert failed.error.startswith("rule 'sales-slack': quota_exceeded: ")
    assert f"accepted before it: customer-email → {first.pk}" in failed.error
    wait_until(lambda: smtp.messages, timeout=WAIT)
    assert slack.requests == []
    assert api.get(f"/api/v1/inbound-events/{event_id}").json()["messages"][0]["id"] == first.pk

    # Given more quota, reprocessing sends only the message that was refused.
    plan_of(5)
    api.post_json(f"/api/v1/inbound-events/{event_id}/reprocess")

    assert finished(event_id).status == "processed"
    wait_until(lambda: slack.requests, timeout=WAIT)
    assert len(smtp.messages) == 1
    assert slack.requests[0].json() == {"text": "New order #1234: $403.00"}
    assert Message.objects.count() == 2
    made = api.get(f"/api/v1/inbound-events/{event_id}").json()["messages"]
    assert [m["rule"] for m in made] == ["customer-email", "sales-slack"]
