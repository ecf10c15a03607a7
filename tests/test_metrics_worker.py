"""What the workers count reaches GET /metrics: a real Celery worker process (prefork, its
own pool processes) counts deliveries, attempts, webhook attempts and inbound events into
the host's metric folder, and the test process, which serves /metrics, adds them up."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from channels_app.models import ChannelConfig, Delivery
from tests.conftest import delivery_ids, send, wait_until
from tests.fakes import Canned
from tests.faults.processes import Processes
from tests.inbound_helpers import as_json
from tests.metrics_helpers import TOKEN, moved, scrape, value
from webhooks.models import InboundEvent, WebhookAttempt, WebhookDelivery

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("empty_queue")]


def final(delivery_id: str) -> str | None:
    status = Delivery.objects.get(pk=delivery_id).status
    return status if status in Delivery.FINAL else None


def no_webhook_left() -> bool:
    return not WebhookDelivery.objects.exclude(status__in=["succeeded", "failed"]).exists()


@pytest.mark.timeout(240)
def test_every_worker_metric_moves_when_its_event_happens_in_a_worker_process(
    api, account, slack, receiver, settings, processes: Processes
):
    settings.METRICS_TOKEN = TOKEN
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/services/T/B/X"}
    )
    endpoint = api.post_json("/api/v1/webhook-endpoints", {"url": f"{receiver.url}/hooks"})
    assert endpoint.status_code == 201, endpoint.content
    inbound = api.post_json(
        "/api/v1/inbound-endpoints",
        {
            "name": "deploys",
            "verification": "none",
            "rules": [
                {"event": "deploy", "message": "deployed", "channels": ["slack"], "recipient": "o"},
                {
                    "event": "broken",
                    "message": "{{ nope }}",
                    "channels": ["slack"],
                    "recipient": "o",
                },
            ],
        },
    ).json()
    hook_path = inbound["url"].split("testserver", 1)[-1]
    # The first webhook POST fails (a transient 500) and is retried.
    receiver.answer(Canned(500, "oops"))
    before = scrape()
    worker = processes.worker("metrics-worker")

    # When a send succeeds, one fails for good (Slack's 404: the webhook was deleted), one
    # fails once and succeeds on its retry, and inbound events are processed or ignored
    [ok] = delivery_ids(send(api, "ok", recipient="o"))
    wait_until(lambda: final(ok), timeout=60)
    slack.answer(Canned(404, "no_service"))
    [gone] = delivery_ids(send(api, "gone", recipient="o"))
    wait_until(lambda: final(gone), timeout=60)
    slack.answer(Canned(500, "hiccup"))
    [flaky] = delivery_ids(send(api, "flaky", recipient="o"))
    wait_until(lambda: final(flaky), timeout=60)
    events = [{"event": "deploy", "n": 1}, {"event": "deploy", "n": 1}, {"event": "other"}]
    for body in [*events, {"event": "broken"}]:
        assert (
            Client().post(hook_path, as_json(body), content_type="application/json").status_code
            == 200
        )
    wait_until(
        lambda: (
            InboundEvent.objects.filter(status__in=["processed", "ignored", "failed"]).count() == 3
        ),
        timeout=60,
    )
    # Slack's answer is the delivery itself (its success status is "delivered").
    wait_until(lambda: Delivery.objects.filter(status="delivered").count() == 3, timeout=60)
    wait_until(no_webhook_left, timeout=60)
    assert worker.alive, worker.log_tail()

    # Then the scrape (this process) sees what the worker's pool processes counted
    after = scrape()
    assert [final(ok), final(gone), final(flaky)] == ["delivered", "failed", "delivered"]
    assert (
        moved(before, after, "oneping_deliveries_total", channel="slack", status="delivered") == 3
    )
    assert moved(before, after, "oneping_deliveries_total", channel="slack", status="failed") == 1
    attempts = "oneping_delivery_attempts_total"
    assert moved(before, after, attempts, channel="slack", outcome="delivered") == 3
    assert moved(before, after, attempts, channel="slack", outcome="permanent") == 1
    assert moved(before, after, attempts, channel="slack", outcome="transient") == 1
    webhook_posts = len(receiver.requests)
    assert moved(before, after, "oneping_webhook_attempts_total", outcome="transient") == 1
    assert (
        moved(before, after, "oneping_webhook_attempts_total", outcome="delivered")
        == webhook_posts - 1
    )
    inbound_events = "oneping_inbound_events_total"
    assert moved(before, after, inbound_events, status="received") == 3  # in this process
    assert moved(before, after, inbound_events, status="duplicate") == 1
    assert moved(before, after, inbound_events, status="processed") == 1  # in the worker
    assert moved(before, after, inbound_events, status="ignored") == 1
    assert moved(before, after, inbound_events, status="failed") == 1  # template error

    # Nothing left in progress. Compared with before: pool processes that earlier tests
    # SIGKILLed mid-task never marked themselves dead, and share this run's folder.
    def in_progress(scraped: dict) -> list[float]:
        return [v for (name, _), v in scraped.items() if name == "oneping_tasks_in_progress"]

    assert in_progress(after) and sum(in_progress(after)) == sum(in_progress(before))
    assert value(after, "oneping_queue_depth", queue="sending") == 0
    assert value(after, "oneping_outbox_oldest_due_age_seconds", table="deliveries") == 0

    # And a receiver that answers 410 Gone makes a permanent webhook failure
    receiver.answer(Canned(410, "gone"))
    send(api, "last", recipient="o")
    wait_until(lambda: WebhookAttempt.objects.filter(status_code=410).exists(), timeout=60)
    gone_410 = scrape()
    assert moved(after, gone_410, "oneping_webhook_attempts_total", outcome="permanent") == 1

    # …written by at least two processes: this one and the worker's pool processes
    folder = Path(django_settings.PROMETHEUS_MULTIPROC_DIR)
    pool = worker.group_pids() - {worker.pid}
    counted_by = {int(path.stem.rsplit("_", 1)[1]) for path in folder.glob("counter_*.db")}
    assert counted_by & pool, (counted_by, pool)
    assert len(counted_by) >= 2

    # When the worker shuts down, its pool processes mark themselves dead: their live
    # gauges go, their counts stay in the sums
    live_before = {p for p in pool if (folder / f"gauge_livesum_{p}.db").exists()}
    assert live_before, "the pool processes kept no live gauge"
    worker.stop()
    assert not [p for p in pool if (folder / f"gauge_livesum_{p}.db").exists()]
    assert not (folder / f"gauge_livesum_{worker.pid}.db").exists(), worker.log_tail(200)
    later = scrape()
    assert value(later, "oneping_deliveries_total", channel="slack", status="delivered") == value(
        gone_410, "oneping_deliveries_total", channel="slack", status="delivered"
    )
