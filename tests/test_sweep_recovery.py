"""The webhook sweep and the inbound sweep each recover a lost job through a real worker:
a row whose task never reached the broker, and (inbound) a claim whose worker died; and an
inbound event that keeps killing its workers stops after ONEPING_INBOUND_MAX_INTERRUPTIONS."""

import time
from datetime import timedelta

import pytest
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from oneping import leases
from tests.conftest import wait_until
from tests.inbound_helpers import (
    as_json,
    create_inbound_endpoint,
    inbound_path,
    send_to_slack_rule,
)
from tests.test_outbox import broker_unreachable
from webhooks import sending
from webhooks.inbound import processing
from webhooks.models import InboundEvent, WebhookDelivery

LONG_AGO = timedelta(hours=1)


@pytest.mark.worker
def test_the_webhook_sweep_recovers_a_delivery_whose_task_was_lost(api, receiver, celery_worker):
    endpoint = api.post_json("/api/v1/webhook-endpoints", {"url": f"{receiver.url}/hooks"}).json()
    with broker_unreachable():
        response = api.post_json(f"/api/v1/webhook-endpoints/{endpoint['id']}/test")
    assert response.status_code == 202
    time.sleep(1.5)  # the worker runs, but the task never reached the broker
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, receiver.requests) == ("pending", [])

    WebhookDelivery.objects.filter(pk=delivery.pk).update(enqueued_at=timezone.now() - LONG_AGO)
    assert sending.sweep() == 1

    wait_until(lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="succeeded").exists())
    assert [r.json()["event"] for r in receiver.requests] == ["webhook.test"]
    assert sending.sweep() == 0


@pytest.mark.worker
@pytest.mark.parametrize("lost", ["never enqueued", "worker died holding it"])
def test_the_inbound_sweep_recovers_a_lost_event(api, channels, slack, celery_worker, lost):
    endpoint = create_inbound_endpoint(api, verification="none", rules=send_to_slack_rule())
    with broker_unreachable():
        response = Client().post(
            inbound_path(endpoint), as_json({"event": "swept"}), content_type="application/json"
        )
    assert response.status_code == 200
    time.sleep(1.5)
    event = InboundEvent.objects.get()
    assert event.status == "received"
    if lost == "never enqueued":
        InboundEvent.objects.filter(pk=event.pk).update(enqueued_at=timezone.now() - LONG_AGO)
    else:  # claimed by a worker that died before finishing: its lease ran out
        InboundEvent.objects.filter(pk=event.pk).update(
            status="processing", attempts=1, lease_expires_at=timezone.now() - LONG_AGO
        )

    assert processing.sweep() == 1

    wait_until(lambda: InboundEvent.objects.filter(pk=event.pk, status="processed").exists())
    wait_until(lambda: slack.requests)
    assert slack.requests[0].json() == {"text": "swept"}
    assert processing.sweep() == 0


def _worker_dies_holding(event_id: str) -> None:
    """What a worker killed mid-processing leaves: a claim whose lease has run out."""
    claimed = leases.claim(
        InboundEvent,
        event_id,
        claimable=Q(status="received"),
        claimed_status="processing",
        lease_seconds=60,
        now=timezone.now(),
    )
    assert claimed
    InboundEvent.objects.filter(pk=event_id).update(lease_expires_at=timezone.now() - LONG_AGO)


def test_an_event_interrupted_n_times_fails_and_the_sweep_stops_returning_it(
    api, channels, settings
):
    settings.ONEPING_INBOUND_MAX_INTERRUPTIONS = 3
    endpoint = create_inbound_endpoint(api, verification="none", rules=send_to_slack_rule())
    Client().post(inbound_path(endpoint), as_json({"event": "x"}), content_type="application/json")
    event = InboundEvent.objects.get()

    swept = []
    for _ in range(3):
        _worker_dies_holding(event.pk)
        swept.append(processing.sweep())
    processing.process(event.pk)  # a task still in the queue for it

    event.refresh_from_db()
    assert swept == [1, 1, 0]  # the third interruption: failed, not enqueued again
    assert (event.status, event.error) == ("failed", "processing was interrupted 3 times")
    assert event.attempts == 3
    assert processing.sweep() == 0

    # Reprocessing (after a fix) gives it the full allowance again.
    assert processing.reprocess([event]) == 1
    processing.process(event.pk)
    assert InboundEvent.objects.get(pk=event.pk).status == "processed"


def test_a_task_for_an_event_past_the_cap_fails_it_instead_of_processing_it(
    api, channels, settings
):
    settings.ONEPING_INBOUND_MAX_INTERRUPTIONS = 2
    endpoint = create_inbound_endpoint(api, verification="none", rules=send_to_slack_rule())
    Client().post(inbound_path(endpoint), as_json({"event": "x"}), content_type="application/json")
    event = InboundEvent.objects.get()
    _worker_dies_holding(event.pk)
    processing.process(event.pk)  # the redelivered task: interrupted once, tried again
    assert InboundEvent.objects.get(pk=event.pk).status == "processed"

    # A second event, interrupted twice, is not processed by the task that finds it.
    Client().post(inbound_path(endpoint), as_json({"event": "y"}), content_type="application/json")
    poison = InboundEvent.objects.get(status="received")
    _worker_dies_holding(poison.pk)
    _worker_dies_holding(poison.pk)

    processing.process(poison.pk)

    poison.refresh_from_db()
    assert (poison.status, poison.error) == ("failed", "processing was interrupted 2 times")
    assert poison.message_id is None
