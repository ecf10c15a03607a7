"""A worker killed mid-stream (SIGKILL to its whole process group) loses no delivery: the
outbox sweep hands what it held, queued or half-sent, to the next worker."""

import time
from collections import Counter

import pytest

from channels_app import delivery as delivery_service
from channels_app.delivery import BATCH
from channels_app.models import ChannelConfig, Delivery
from tests.conftest import wait_until
from tests.fakes import Canned
from tests.faults.processes import Processes
from tests.faults.report import report

TOTAL = 500
# Short enough for a test; long enough that no live worker's send outlasts its lease.
LEASE_SECONDS = 5
CONCURRENCY = 2  # the worker's pool size (tests/faults/processes.py)
SWEEP_EVERY_SECONDS = 2.0

pytestmark = [pytest.mark.faults, pytest.mark.worker]


def counts_by_status() -> dict[str, int]:
    return dict(Counter(Delivery.objects.values_list("status", flat=True)))


def final_count() -> int:
    return Delivery.objects.filter(status__in=Delivery.FINAL).count()


@pytest.mark.timeout(300)
def test_a_killed_worker_loses_no_delivery(
    api, account, roomy_plan, slack, settings, processes: Processes, empty_queue
):
    # Given 500 messages queued for the Slack sink, and a worker working through them.
    # Unpaced (the operator's flag): the subject is batches in flight when the worker
    # dies, and a paced webhook lets one delivery at a time go, at 1/s (#19).
    ChannelConfig.objects.create(
        account=account,
        kind="slack",
        config={"webhook_url": f"{slack.url}/services/T000/B000/XXXX"},
        unpaced=True,
    )
    for n in range(TOTAL):
        response = api.post_json(
            "/api/v1/send", {"message": f"kill #{n}", "channels": ["slack"], "recipient": "ops"}
        )
        assert response.status_code == 202, response.content
    lease = {"ONEPING_FAULTS_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS)}
    first = processes.worker("worker-a", **lease)

    # When it is killed with SIGKILL, whole process group, after some are delivered and
    # while two sends wait on the sink: they reached the provider but their outcome was
    # never written, the hardest case for "nothing lost" (so were any other sends of the
    # batches in flight whose outcomes were not yet stored)
    wait_until(lambda: slack.requests or not first.alive, timeout=60)
    first_seen, first_count = time.monotonic(), len(slack.requests)
    wait_until(lambda: len(slack.requests) >= TOTAL // 5 or not first.alive, timeout=90)
    assert first.alive, first.log_tail()
    rate_before = (len(slack.requests) - first_count) / (time.monotonic() - first_seen)
    slack.answer(*[Canned(200, "ok", delay=3.0)] * CONCURRENCY)
    wait_until(lambda: not slack.script, timeout=30)  # both slow answers are being given
    pool = first.group_pids()
    first.kill()
    killed_at = time.monotonic()
    first.process.wait(10)
    wait_until(lambda: not first.group_pids(), timeout=10)
    # Requests the pool wrote before it died may still sit in the sink's accept queue or
    # be read by its threads: count them as received at the kill, once the count is still.
    settled(lambda: len(slack.requests), quiet=2.0, timeout=30)
    at_kill = counts_by_status()
    received_at_kill = {request.json()["text"] for request in slack.requests}
    half_sent = set(
        Delivery.objects.filter(status="sending").values_list("message__body", flat=True)
    )
    in_flight = half_sent & received_at_kill
    assert 0 < final_count() < TOTAL, at_kill
    # At least the two slow ones; at most one batch per pool process.
    assert CONCURRENCY <= len(in_flight) <= CONCURRENCY * BATCH, at_kill

    # …and a new worker starts, with the outbox sweep running as beat would run it
    second = processes.worker("worker-b", **lease)
    # Old enough to be lost, yet not re-enqueued on every sweep (a flood of duplicate
    # tasks that the claim would discard, but that the worker must still read).
    settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS = 5
    sweeps = swept = 0
    deadline = time.monotonic() + 180
    while final_count() < TOTAL and time.monotonic() < deadline:
        assert second.alive, second.log_tail()
        swept += delivery_service.sweep_outbox()
        sweeps += 1
        time.sleep(SWEEP_EVERY_SECONDS)
    recovered_in = time.monotonic() - killed_at

    # Then every delivery ended delivered, and the sink got every message at least once
    statuses = counts_by_status()
    texts = Counter(request.json()["text"] for request in slack.requests)
    expected = {f"kill #{n}" for n in range(TOTAL)}
    lost = sorted(expected - set(texts))
    duplicates = sum(count - 1 for count in texts.values())
    report(
        "worker_killed",
        deliveries=TOTAL,
        pool_processes_killed=len(pool),
        delivered_per_s_before_kill=round(rate_before, 1),
        received_before_kill=len(received_at_kill),
        half_sent_at_kill=len(in_flight),
        statuses_at_kill=at_kill,
        statuses_at_end=statuses,
        sweeps=sweeps,
        swept=swept,
        lost=len(lost),
        duplicates=duplicates,
        seconds_kill_to_all_final=round(recovered_in, 2),
    )
    assert statuses == {"delivered": TOTAL}, second.log_tail()
    assert lost == []
    # Only the sends in flight when the pool died are repeated (at-least-once), once each:
    # their leases ran out and the sweep handed them to the new worker.
    assert {text for text, count in texts.items() if count > 1} == in_flight
    assert duplicates == len(in_flight)


def settled(count, quiet: float, timeout: float) -> None:
    """Wait until `count()` has not changed for `quiet` seconds (at most `timeout`)."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
