"""A customer's webhook receiver goes down: delivery-status events are retried on the
schedule (tests/settings.py: 0.2 s steps, four attempts), none is lost, and events that
ran out of attempts are sent again by replay or recover with the same webhook-id."""

import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta

import pytest
import standardwebhooks.webhooks
from django.utils import timezone

from tests.conftest import wait_until
from tests.fakes import Canned, FakeHTTPProvider, Received
from tests.faults.proxy import TcpProxy
from tests.faults.report import report
from webhooks.models import Event, WebhookAttempt, WebhookDelivery

pytestmark = [pytest.mark.faults, pytest.mark.worker]

EVENTS = 20
ATTEMPTS = 4  # 1 + len(ONEPING_WEBHOOK_RETRY_SCHEDULE) in tests/settings.py
STEP_SECONDS = 0.2  # ONEPING_WEBHOOK_RETRY_SCHEDULE's steps, ±10 % jitter


class FlakyReceiver(FakeHTTPProvider):
    """Answers 503 to the first `failures` tries of every event (by webhook-id), then 200:
    an outage each event meets for part of its schedule, whatever order they come in."""

    def __init__(self, failures: int):
        super().__init__(default=Canned(200, "thanks"))
        self.failures = failures
        self.tries: Counter[str] = Counter()
        self.accepted: list[Received] = []

    def respond(self, received: Received) -> Canned:
        super().respond(received)
        with self._lock:
            webhook_id = received.headers.get("webhook-id", "")
            self.tries[webhook_id] += 1
            if self.tries[webhook_id] <= self.failures:
                return Canned(503, "down for maintenance")
            self.accepted.append(received)
            return self.default


@pytest.fixture
def flaky_receiver() -> Iterator[FlakyReceiver]:
    server = FlakyReceiver(failures=2).start()
    yield server
    server.stop()


def subscribe(api, url: str) -> dict:
    response = api.post_json(
        "/api/v1/webhook-endpoints", {"url": url, "event_types": ["message.delivered"]}
    )
    assert response.status_code == 201, response.content
    return response.json()


def send_messages(api, count: int) -> None:
    for n in range(count):
        response = api.post_json(
            "/api/v1/send", {"message": f"event #{n}", "channels": ["slack"], "recipient": "ops"}
        )
        assert response.status_code == 202, response.content


def webhook_statuses() -> dict[str, int]:
    return dict(Counter(WebhookDelivery.objects.values_list("status", flat=True)))


def verify(secret: str, request: Received) -> None:
    standardwebhooks.webhooks.Webhook(secret).verify(request.body, request.headers)


@pytest.mark.timeout(120)
def test_a_receiver_back_within_the_schedule_gets_every_event(
    api, channels, roomy_plan, flaky_receiver: FlakyReceiver, celery_worker
):
    # Given a receiver that answers 503 to each event's first two tries
    endpoint = subscribe(api, f"{flaky_receiver.url}/hooks")

    # When 20 messages are delivered, each making a message.delivered event
    started = time.monotonic()
    send_messages(api, EVENTS)
    wait_until(lambda: Event.objects.count() == EVENTS, timeout=60)
    wait_until(lambda: webhook_statuses() == {"succeeded": EVENTS} or _any_failed())
    took = time.monotonic() - started

    # Then every event arrived once, signed, on its third try, spaced by the schedule
    event_ids = set(Event.objects.values_list("pk", flat=True))
    arrived = Counter(r.headers["webhook-id"] for r in flaky_receiver.accepted)
    gaps = _gaps_between_attempts()
    report(
        "webhook_receiver_back_within_schedule",
        events=EVENTS,
        statuses=webhook_statuses(),
        answered_503=sum(min(n, 2) for n in flaky_receiver.tries.values()),
        lost=len(event_ids - set(arrived)),
        duplicates=sum(n - 1 for n in arrived.values()),
        retry_gap_seconds_min=round(min(gaps), 3),
        retry_gap_seconds_max=round(max(gaps), 3),
        seconds_first_send_to_all_arrived=round(took, 2),
    )
    assert webhook_statuses() == {"succeeded": EVENTS}
    assert set(arrived) == event_ids
    assert set(arrived.values()) == {1}
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {3}
    assert WebhookAttempt.objects.count() == 3 * EVENTS
    for request in flaky_receiver.accepted:
        verify(endpoint["secret"], request)
    # Never sooner than the schedule's step (less its jitter).
    assert min(gaps) >= STEP_SECONDS * 0.9 - 0.01


@pytest.mark.timeout(120)
def test_events_that_outlived_the_schedule_are_replayed_and_recovered_with_their_ids(
    api, channels, roomy_plan, receiver: FakeHTTPProvider, celery_worker
):
    # Given a receiver that is down (its port refuses connections) longer than the schedule
    proxy = TcpProxy(int(receiver.url.rsplit(":", 1)[1])).start()
    try:
        endpoint = subscribe(api, f"{proxy.url}/hooks")
        proxy.stop()
        since = timezone.now() - timedelta(seconds=1)
        count = EVENTS // 2

        # When events are made, every one of them fails its four attempts
        send_messages(api, count)
        wait_until(lambda: webhook_statuses() == {"failed": count}, timeout=60)
        assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {ATTEMPTS}
        assert receiver.requests == []
        events = list(Event.objects.order_by("pk"))

        # …and once the receiver is back, one event is replayed and the rest recovered
        proxy.start()
        back_at = time.monotonic()
        replayed = api.post_json(f"/api/v1/events/{events[0].pk}/replay")
        recovered = api.post_json(
            f"/api/v1/webhook-endpoints/{endpoint['id']}/recover", {"since": since.isoformat()}
        )
        wait_until(lambda: webhook_statuses() == {"succeeded": count}, timeout=30)
        took = time.monotonic() - back_at
    finally:
        proxy.stop()

    # Then every event arrived once, with its own webhook-id, body and a valid signature
    arrived = Counter(r.headers["webhook-id"] for r in receiver.requests)
    report(
        "webhook_receiver_down_past_schedule",
        events=count,
        failed_attempts=count * ATTEMPTS,
        replayed=replayed.json(),
        recovered=recovered.json(),
        lost=len({e.pk for e in events} - set(arrived)),
        duplicates=sum(n - 1 for n in arrived.values()),
        seconds_back_to_all_arrived=round(took, 2),
    )
    assert replayed.status_code == recovered.status_code == 202
    assert replayed.json() == {"queued": 1}
    assert recovered.json() == {"queued": count - 1}
    assert arrived == dict.fromkeys((e.pk for e in events), 1)
    # The failed tries were refused connections, and carried the same webhook-id.
    failed = WebhookAttempt.objects.filter(status_code__isnull=True)
    assert failed.count() == count * ATTEMPTS
    assert all("Could not connect" in error for error in failed.values_list("error", flat=True))
    for attempt in WebhookAttempt.objects.all():
        assert attempt.request_headers["webhook-id"] == attempt.event_id
    bodies = {e.pk: e.body.encode() for e in events}
    for request in receiver.requests:
        verify(endpoint["secret"], request)
        assert request.body == bodies[request.headers["webhook-id"]]


def _any_failed() -> bool:
    return WebhookDelivery.objects.filter(status="failed").exists()


def _gaps_between_attempts() -> list[float]:
    times: dict[str, list] = defaultdict(list)
    for delivery_id, at in WebhookAttempt.objects.order_by("at").values_list(
        "webhook_delivery_id", "at"
    ):
        times[delivery_id].append(at)
    return [
        (later - earlier).total_seconds()
        for stamps in times.values()
        for earlier, later in itertools.pairwise(stamps)
    ]
