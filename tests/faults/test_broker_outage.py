"""The broker goes down (a private Redis, killed): /send keeps answering 202, and once
Redis is back, empty, the outbox sweep hands every stored delivery to the worker."""

import statistics
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from channels_app import delivery as delivery_service
from channels_app.models import ChannelConfig, Delivery
from oneping.celery import app
from tests.conftest import wait_until
from tests.faults.processes import Processes
from tests.faults.redis_server import PrivateRedis
from tests.faults.report import report

DURING_OUTAGE = 200
# Sent just before Redis dies: some still sit in its queue (or in the worker's prefetch)
# when it goes, and it comes back without them.
JUST_BEFORE = 50

pytestmark = [pytest.mark.faults, pytest.mark.worker]


def publish_to(url: str | None) -> None:
    # broker_write_url, not broker_url: a CELERY_BROKER_URL in the environment overrides
    # broker_url (see tests/test_outbox.py). Dropping the pools makes the next publish
    # connect to `url`.
    app.conf.broker_write_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def private_redis(processes: Processes) -> Iterator[PrivateRedis]:
    """Stopped with the test's other processes, after the worker that uses it."""
    redis = PrivateRedis(processes).start()
    try:
        yield redis
    finally:
        publish_to(None)


def delivered_count() -> int:
    return Delivery.objects.filter(status="delivered").count()


@pytest.mark.timeout(300)
def test_sends_during_a_broker_outage_are_all_delivered_after_it(
    api, account, roomy_plan, slack, settings, processes: Processes, private_redis: PrivateRedis
):
    # Given the web side and a real worker both use a private Redis, and the worker runs.
    # Unpaced (the operator's flag): the subject is 200 messages lost or not, and a paced
    # webhook takes them one at a time at 1/s (#19).
    ChannelConfig.objects.create(
        account=account,
        kind="slack",
        config={"webhook_url": f"{slack.url}/services/T000/B000/XXXX"},
        unpaced=True,
    )
    publish_to(private_redis.url)
    worker = processes.worker("worker", CELERY_BROKER_URL=private_redis.url)
    probe = api.post_json(
        "/api/v1/send", {"message": "before", "channels": ["slack"], "recipient": "ops"}
    )
    assert probe.status_code == 202
    wait_until(lambda: delivered_count() == 1 or not worker.alive, timeout=60)
    assert worker.alive, worker.log_tail()

    # When Redis dies with messages in it, and 200 messages are sent while it is down
    for n in range(JUST_BEFORE):
        response = api.post_json(
            "/api/v1/send", {"message": f"before #{n}", "channels": ["slack"], "recipient": "ops"}
        )
        assert response.status_code == 202
    private_redis.stop()
    delivered_before_outage = delivered_count()
    seconds: list[float] = []
    statuses: Counter[int] = Counter()
    for n in range(DURING_OUTAGE):
        started = time.monotonic()
        response = api.post_json(
            "/api/v1/send", {"message": f"outage #{n}", "channels": ["slack"], "recipient": "ops"}
        )
        seconds.append(time.monotonic() - started)
        statuses[response.status_code] += 1
    time.sleep(1)
    # What the worker had started before Redis died may finish meanwhile, and a batch it
    # claims then may include rows stored during the outage (claims read the table, not the
    # queue): reported, not asserted.
    delivered_during_outage = sum(r.json()["text"].startswith("outage") for r in slack.requests)

    # …and Redis comes back on the same port, empty, and the sweep runs as beat runs it
    private_redis.start()
    back_at = time.monotonic()
    # Kombu's Redis transport can crash the worker when Redis dies under it (an
    # AttributeError while acknowledging or reconnecting: the celery/kombu#582 family).
    # deploy.md's supervisors restart a worker that exits; so does this test, and reports it.
    crashed = None
    if not worker.alive:
        crashed = worker.log_tail(5)
        worker = processes.worker("worker-restarted", CELERY_BROKER_URL=private_redis.url)
    # Old enough to be lost, yet not re-enqueued on every sweep (a flood of duplicate
    # tasks that the claim would discard, but that the worker must still read).
    settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS = 5
    total = 1 + JUST_BEFORE + DURING_OUTAGE
    sweeps = swept = 0
    first_after: float | None = None
    deadline = back_at + 120
    while delivered_count() < total and time.monotonic() < deadline:
        swept += delivery_service.sweep_outbox()
        sweeps += 1
        for _ in range(20):  # the sweep every 2 s; progress checked every 0.1 s
            if first_after is None and delivered_count() > delivered_before_outage:
                first_after = time.monotonic() - back_at
            time.sleep(0.1)
    recovered_in = time.monotonic() - back_at

    # Then every request was accepted, and every message arrives exactly once
    texts = Counter(r.json()["text"] for r in slack.requests)
    expected = {f"outage #{n}" for n in range(DURING_OUTAGE)}
    expected |= {f"before #{n}" for n in range(JUST_BEFORE)} | {"before"}
    lost = sorted(expected - set(texts))
    duplicates = sum(count - 1 for count in texts.values())
    report(
        "broker_outage",
        sent_just_before=JUST_BEFORE,
        delivered_before_outage=delivered_before_outage - 1,
        sent_during_outage=DURING_OUTAGE,
        answers=dict(statuses),
        send_seconds_mean=round(statistics.mean(seconds), 3),
        send_seconds_max=round(max(seconds), 3),
        delivered_during_outage=delivered_during_outage,
        worker_crashed_and_restarted=bool(crashed),
        sweeps=sweeps,
        swept=swept,
        lost=len(lost),
        duplicates=duplicates,
        seconds_redis_back_to_first_delivery=first_after and round(first_after, 2),
        seconds_redis_back_to_all_delivered=round(recovered_in, 2),
    )
    assert statuses == {202: DURING_OUTAGE}
    assert worker.alive, worker.log_tail()
    assert delivered_count() == total, worker.log_tail()
    assert lost == []
    assert duplicates == 0
