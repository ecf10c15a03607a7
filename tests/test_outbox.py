"""A broker outage loses nothing: /send still answers 202 and the outbox sweep sends later."""

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app import delivery as delivery_service
from channels_app.models import Delivery
from oneping.celery import app
from tests.conftest import wait_until


@contextmanager
def broker_unreachable():
    """Point the Celery app at a port where no broker listens, then give it back."""
    _publish_to("redis://127.0.0.1:1/0")
    try:
        yield
    finally:
        _publish_to(None)


def _publish_to(url: str | None) -> None:
    # broker_write_url, not broker_url: Celery lets a CELERY_BROKER_URL environment
    # variable override broker_url, and the PostgreSQL + Redis profile sets one.
    app.conf.broker_write_url = url
    # Drop the cached connection and producer pools so the next publish uses `url`.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.worker
def test_send_is_accepted_while_the_broker_is_down_and_swept_later(
    api, channels, slack, settings, celery_worker
):
    with broker_unreachable():
        response = api.post_json(
            "/api/v1/send", {"message": "still here", "channels": ["slack"], "recipient": "ops"}
        )
    assert response.status_code == 202
    delivery_id = response.json()["deliveries"][0]["id"]
    time.sleep(1.5)  # the worker is running (and polls each second), but nothing reached it
    assert Delivery.objects.get(pk=delivery_id).status == "queued"

    # The broker is back; the periodic sweep finds the stranded delivery.
    settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS = 0
    Delivery.objects.filter(pk=delivery_id).update(enqueued_at=timezone.now() - timedelta(1))
    assert delivery_service.sweep_outbox() == 1

    wait_until(lambda: Delivery.objects.filter(pk=delivery_id, status="delivered").exists())
    assert slack.requests[0].json() == {"text": "still here"}


def test_the_sweep_leaves_fresh_and_final_deliveries_alone(api, channels, slack, settings):
    settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS = 180
    response = api.post_json(
        "/api/v1/send", {"message": "x", "channels": ["slack", "discord"], "recipient": "ops"}
    )
    fresh_id, done_id = (d["id"] for d in response.json()["deliveries"])
    Delivery.objects.filter(pk=done_id).update(
        status="delivered", enqueued_at=timezone.now() - timedelta(hours=1)
    )

    assert delivery_service.sweep_outbox() == 0
    Delivery.objects.filter(pk=fresh_id).update(enqueued_at=timezone.now() - timedelta(hours=1))
    assert delivery_service.sweep_outbox() == 1
    # Just swept: not enqueued again on the next run.
    assert delivery_service.sweep_outbox() == 0


def test_the_sweep_rescues_a_delivery_whose_worker_died_mid_send(api, channels):
    response = api.post_json(
        "/api/v1/send", {"message": "x", "channels": ["slack"], "recipient": "ops"}
    )
    delivery_id = response.json()["deliveries"][0]["id"]
    Delivery.objects.filter(pk=delivery_id).update(
        status="sending", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert delivery_service.sweep_outbox() == 1


def test_the_sweep_is_a_periodic_task_beat_knows():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["outbox-sweep"]
    assert entry["task"] == "channels_app.sweep_outbox"
    assert entry["task"] in app.tasks


def test_long_retries_wait_for_the_sweep_instead_of_a_countdown_task(
    api, channels, slack, settings
):
    from tests.fakes import Canned

    settings.ONEPING_DELIVERY_RETRY_SCHEDULE = [3600]
    slack.answer(Canned(503, "busy"))
    response = api.post_json(
        "/api/v1/send", {"message": "x", "channels": ["slack"], "recipient": "ops"}
    )
    delivery_id = response.json()["deliveries"][0]["id"]
    delivery_service.attempt(delivery_id)
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == "retrying"
    assert delivery.enqueued_at is None  # no task holds it: the sweep will enqueue it

    assert delivery_service.sweep_outbox() == 0  # not due yet
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
    assert delivery_service.sweep_outbox() == 1
    assert delivery_service.sweep_outbox() == 0  # enqueued once
