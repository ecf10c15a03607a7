"""Leases and sweeps are timed from the environment (docs/deploy.md): a deployment, or the
topology test's overlay, shortens how long a killed worker's claims wait."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = (
    "ONEPING_DELIVERY_LEASE_SECONDS",
    "ONEPING_WEBHOOK_LEASE_SECONDS",
    "ONEPING_INBOUND_LEASE_SECONDS",
    "ONEPING_SWEEP_INTERVAL_SECONDS",
    "ONEPING_OUTBOX_SWEEP_AFTER_SECONDS",
)
PRINT_TIMINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    + ", ".join(f"'{name}': s.{name}" for name in TIMINGS)
    + ", 'beat': {k: v['schedule'] for k, v in s.CELERY_BEAT_SCHEDULE.items()}}))"
)


def production_settings(tmp_path, **overrides: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in TIMINGS}
    env.update(ONEPING_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="oneping.settings")
    env.update(DEBUG="on", **overrides)
    return subprocess.run(
        [sys.executable, "-c", PRINT_TIMINGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_leases_and_sweeps_default_to_minutes(tmp_path):
    result = production_settings(tmp_path)

    assert result.returncode == 0, result.stderr
    timings = json.loads(result.stdout)
    assert timings["ONEPING_DELIVERY_LEASE_SECONDS"] == 120
    assert timings["ONEPING_WEBHOOK_LEASE_SECONDS"] == 60
    assert timings["ONEPING_INBOUND_LEASE_SECONDS"] == 120
    assert timings["ONEPING_OUTBOX_SWEEP_AFTER_SECONDS"] == 180
    assert timings["beat"] == {
        "outbox-sweep": 60,
        "webhook-sweep": 60,
        "inbound-sweep": 60,
        "stripe-event-sweep": 60,
        "report-sweep": 60,
        "fate-wait": 60,
        "webhook-auto-disable": 3600.0,
        "pacing-forget-idle": 3600.0,
    }


def test_leases_and_the_sweep_interval_come_from_the_environment(tmp_path):
    result = production_settings(
        tmp_path,
        ONEPING_DELIVERY_LEASE_SECONDS="10",
        ONEPING_WEBHOOK_LEASE_SECONDS="11",
        ONEPING_INBOUND_LEASE_SECONDS="12",
        ONEPING_SWEEP_INTERVAL_SECONDS="2",
        ONEPING_OUTBOX_SWEEP_AFTER_SECONDS="30",
    )

    assert result.returncode == 0, result.stderr
    timings = json.loads(result.stdout)
    assert timings["ONEPING_DELIVERY_LEASE_SECONDS"] == 10
    assert timings["ONEPING_WEBHOOK_LEASE_SECONDS"] == 11
    assert timings["ONEPING_INBOUND_LEASE_SECONDS"] == 12
    assert timings["ONEPING_OUTBOX_SWEEP_AFTER_SECONDS"] == 30
    # Beat runs every outbox sweep at the interval; auto-disable stays hourly.
    assert timings["beat"]["outbox-sweep"] == 2
    assert timings["beat"]["webhook-sweep"] == 2
    assert timings["beat"]["inbound-sweep"] == 2
    assert timings["beat"]["report-sweep"] == 2
    assert timings["beat"]["fate-wait"] == 2
    assert timings["beat"]["webhook-auto-disable"] == 3600.0


def test_a_lease_of_zero_is_refused(tmp_path):
    result = production_settings(tmp_path, ONEPING_DELIVERY_LEASE_SECONDS="0")

    assert result.returncode != 0
    assert "ONEPING_DELIVERY_LEASE_SECONDS=0: use a number of seconds of 1 or more" in (
        result.stderr
    )
