"""An inbound event that kills the worker processing it (SIGKILL, every time) is tried
ONEPING_INBOUND_MAX_INTERRUPTIONS times, then fails for good: the sweep stops handing it
out, and the worker goes on with the other events."""

import time
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import wait_until
from tests.faults.processes import Processes
from tests.faults.report import report
from tests.inbound_helpers import as_json, create_inbound_endpoint, inbound_path
from webhooks.inbound import processing
from webhooks.models import InboundEvent

MAX_INTERRUPTIONS = 3
LEASE_SECONDS = 2  # how soon the sweep may hand a dead worker's event to the next one
SWEEP_EVERY_SECONDS = 1.0

pytestmark = [pytest.mark.faults, pytest.mark.worker]


def post(endpoint: dict, body: dict) -> None:
    response = Client().post(inbound_path(endpoint), as_json(body), content_type="application/json")
    assert response.status_code == 200, response.content


@pytest.mark.timeout(240)
def test_a_poison_event_stops_after_n_interruptions(
    api, channels, settings, processes: Processes, empty_queue, tmp_path: Path
):
    # Given a worker for which one event is poison, and that event received
    settings.ONEPING_INBOUND_MAX_INTERRUPTIONS = MAX_INTERRUPTIONS
    kills = tmp_path / "kills.log"
    kills.touch()
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        rules=[{"event": "*", "message": "{{ n }}", "channels": ["slack"], "recipient": "o"}],
    )
    worker = processes.worker(
        "poisoned",
        ONEPING_FAULTS_POISON="deadly",
        ONEPING_FAULTS_POISON_LOG=str(kills),
        ONEPING_FAULTS_INBOUND_LEASE_SECONDS=str(LEASE_SECONDS),
        ONEPING_INBOUND_MAX_INTERRUPTIONS=str(MAX_INTERRUPTIONS),
    )
    post(endpoint, {"event": "x", "n": 1, "poison": "deadly"})
    poison = InboundEvent.objects.get()

    # When the sweep runs as beat would run it, until the event is final
    sweeps = swept = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert worker.alive, worker.log_tail()
        poison.refresh_from_db()
        if poison.status == "failed":
            break
        swept += processing.sweep()
        sweeps += 1
        time.sleep(SWEEP_EVERY_SECONDS)
    # …and keeps running afterwards
    for _ in range(3):
        swept_after = processing.sweep()
        assert swept_after == 0
        time.sleep(SWEEP_EVERY_SECONDS)

    # Then it was processed (and killed a pool process) exactly N times, and failed
    killed = kills.read_text().split()
    report(
        "poison_event",
        max_interruptions=MAX_INTERRUPTIONS,
        pool_processes_killed=len(killed),
        sweeps=sweeps,
        swept=swept,
    )
    poison.refresh_from_db()
    assert (poison.status, poison.error) == (
        "failed",
        f"processing was interrupted {MAX_INTERRUPTIONS} times",
    )
    assert len(killed) == MAX_INTERRUPTIONS
    assert len(set(killed)) == MAX_INTERRUPTIONS  # a new pool process each time
    # And the worker still processes the other events
    post(endpoint, {"event": "x", "n": 2})
    wait_until(lambda: InboundEvent.objects.filter(status="processed").exists(), timeout=60)
    assert len(kills.read_text().split()) == MAX_INTERRUPTIONS
