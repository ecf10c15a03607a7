"""GET /metrics: its token, the request metrics, quota rejections, the gauges measured at
scrape time, and the hooks that keep a host's metric files right. (What the workers count
is in test_metrics_worker.py, through a real worker process.)"""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import Plan
from channels_app.models import ChannelConfig, Delivery
from oneping import metrics
from oneping.celery import app
from tests.metrics_helpers import TOKEN, moved, scrape, value

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def test_metrics_are_off_without_a_token(client, db):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_a_wrong_or_missing_token_is_401_in_the_error_shape(client, db, metrics_on, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_metrics_token"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in response.content.decode()


def test_requests_are_counted_by_route_name_and_status(api, metrics_on):
    before = scrape()

    assert api.get("/api/v1/messages").status_code == 200
    assert api.get("/api/v1/messages/msg_doesnotexist").status_code == 404
    assert api.get("/api/v1/no-such-thing/123").status_code == 404

    after = scrape()
    ok = {"route": "message-list", "method": "GET", "status": "200"}
    assert moved(before, after, "oneping_http_requests_total", **ok) == 1
    assert moved(before, after, "oneping_http_request_duration_seconds_count", **ok) == 1
    assert moved(before, after, "oneping_http_request_duration_seconds_bucket", le="+Inf", **ok)
    missing = {"route": "message-detail", "method": "GET", "status": "404"}
    assert moved(before, after, "oneping_http_requests_total", **missing) == 1
    # No raw paths as labels: ids and scanners' paths are one "unmatched" route.
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert moved(before, after, "oneping_http_requests_total", **unmatched) == 1
    assert not any("msg_doesnotexist" in str(labels) for _, labels in after)


def test_quota_rejections_are_counted(api, account, slack, metrics_on):
    account.plan = Plan.objects.create(name="tiny", display_name="Tiny", monthly_quota=1)
    account.save(update_fields=["plan"])
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/services/T/B/X"}
    )
    send = {"message": "hi", "channels": ["slack"], "recipient": "ops"}
    before = scrape()

    assert api.post_json("/api/v1/send", send).status_code == 202
    assert api.post_json("/api/v1/send", send).status_code == 429
    assert api.post_json("/api/v1/send", send).status_code == 429

    after = scrape()
    assert moved(before, after, "oneping_quota_rejections_total") == 2
    send_429 = {"route": "api-send", "method": "POST", "status": "429"}
    assert moved(before, after, "oneping_http_requests_total", **send_429) == 2


def test_queue_depth_and_the_oldest_due_row_are_measured_at_scrape_time(
    api, account, slack, metrics_on, transactional_db
):
    # Given nothing queued
    app.control.purge()
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/services/T/B/X"}
    )
    empty = scrape()
    for queue in ("sending", "webhooks", "inbound", "celery"):
        assert value(empty, "oneping_queue_depth", queue=queue) == 0
    for table in ("deliveries", "webhook_deliveries", "inbound_events"):
        assert ("oneping_outbox_oldest_due_age_seconds", frozenset({("table", table)})) in empty
        assert value(empty, "oneping_outbox_oldest_due_age_seconds", table=table) == 0

    # When two messages wait with no worker, the first for ten minutes
    send = {"message": "hi", "channels": ["slack"], "recipient": "ops"}
    first = api.post_json("/api/v1/send", send).json()["deliveries"][0]["id"]
    api.post_json("/api/v1/send", send)
    Delivery.objects.filter(pk=first).update(enqueued_at=timezone.now() - timedelta(minutes=10))

    # Then the scrape sees both tasks in the queue and a ten-minute-old due delivery
    waiting = scrape()
    assert value(waiting, "oneping_queue_depth", queue="sending") == 2
    assert 600 <= value(waiting, "oneping_outbox_oldest_due_age_seconds", table="deliveries") < 700
    app.control.purge()

    # And a retry that is due, and a claim whose worker died, count from when they were due
    Delivery.objects.update(status="sent")
    Delivery.objects.filter(pk=first).update(
        status="retrying",
        enqueued_at=None,
        next_attempt_at=timezone.now() - timedelta(minutes=3),
    )
    assert 180 <= value(scrape(), "oneping_outbox_oldest_due_age_seconds", table="deliveries") < 280
    Delivery.objects.filter(pk=first).update(
        status="sending", lease_expires_at=timezone.now() - timedelta(minutes=2)
    )
    assert 120 <= value(scrape(), "oneping_outbox_oldest_due_age_seconds", table="deliveries") < 220
    # …but one not yet due is no sign of missing workers
    Delivery.objects.filter(pk=first).update(
        status="retrying", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert value(scrape(), "oneping_outbox_oldest_due_age_seconds", table="deliveries") == 0


COUNT_AND_EXIT = """
import django, os
django.setup()
from oneping import instruments
instruments.HTTP_IN_PROGRESS.inc()
instruments.QUOTA_REJECTIONS.inc()
print(os.getpid())
"""


def test_gunicorns_child_exit_hook_marks_a_dead_process(db):
    # Given a process that counted (a live gauge and a counter) and exited
    folder = Path(django_settings.PROMETHEUS_MULTIPROC_DIR)
    done = subprocess.run(
        [sys.executable, "-c", COUNT_AND_EXIT],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "ONEPING_TEST_DATA_DIR": str(django_settings.DATA_DIR),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pid = int(done.stdout.split()[-1])
    assert (folder / f"gauge_livesum_{pid}.db").exists()

    # When gunicorn's master calls the hook for it
    metrics.child_exit(server=None, worker=SimpleNamespace(pid=pid))

    # Then its live gauge is gone and its counts stay
    assert not (folder / f"gauge_livesum_{pid}.db").exists()
    assert (folder / f"counter_{pid}.db").exists()


def run_prepare(tmp_path: Path, *unset: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m oneping.metrics prepare` as make run calls it, in a development
    environment whose data folder is tmp_path, without the variables named in `unset`."""
    dropped = {"PROMETHEUS_MULTIPROC_DIR", "DJANGO_SETTINGS_MODULE", *unset}
    environment = {key: value for key, value in os.environ.items() if key not in dropped}
    environment.update(ONEPING_DATA_DIR=str(tmp_path), DEBUG="true", **env)
    return subprocess.run(
        [sys.executable, "-m", "oneping.metrics", "prepare"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_prepare_empties_the_hosts_folder_before_start_up(tmp_path):
    stale = tmp_path / "metrics" / "counter_4242.db"
    stale.parent.mkdir()
    stale.write_bytes(b"from an earlier run")

    done = run_prepare(tmp_path, METRICS_TOKEN="t")

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "metrics").is_dir()
    assert not stale.exists()
    assert str(tmp_path / "metrics") in done.stdout


def test_prepare_does_nothing_with_metrics_off(tmp_path):
    done = run_prepare(tmp_path, "METRICS_TOKEN")

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "metrics").exists()


def test_a_worker_only_host_exports_its_folder_behind_the_token(db):
    from oneping import instruments
    from tests.faults.processes import free_port, wait_for_port

    # Given this process counted something into the host's folder
    instruments.QUOTA_REJECTIONS.inc()
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "ONEPING_TEST_DATA_DIR": str(django_settings.DATA_DIR),
        "METRICS_TOKEN": TOKEN,
    }
    exporter = subprocess.Popen(
        [sys.executable, "-m", "oneping.metrics", "serve", "--bind", "127.0.0.1"],
        cwd=ROOT,
        env={**env, "METRICS_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=30)
        url = f"http://127.0.0.1:{port}/metrics"

        # When Prometheus scrapes it, with and without the token
        scraped = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        refused = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
    finally:
        exporter.terminate()
        exporter.wait(10)

    # Then it gets the folder's sums, or 401 in the error shape
    assert scraped.status_code == 200
    assert "oneping_quota_rejections_total" in scraped.text
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_metrics_token"
