"""The production retry schedules, step by step: each retry waits its own step of the
schedule (±jitter), and a delivery gets exactly len(schedule) + 1 attempts.

The rest of the suite runs on a compressed schedule of equal 0.2 s steps
(tests/settings.py), where a wrong index or a missing backoff would go unnoticed. Here the
values come from oneping/settings.py itself, and time is moved forward by making each
retry due in the database instead of waiting for it.
"""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

import oneping.settings as production
from channels_app import delivery as delivery_service
from channels_app import retry as delivery_retry
from channels_app.models import ChannelConfig, Delivery
from tests.fakes import Canned, FakeHTTPProvider
from webhooks import events, sending
from webhooks import retry as webhook_retry
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.signing import new_secret

DELIVERY_SCHEDULE = production.ONEPING_DELIVERY_RETRY_SCHEDULE
DELIVERY_JITTER = 0.2  # settings.ONEPING_DELIVERY_RETRY_JITTER: ±20 %
WEBHOOK_SCHEDULE = production.ONEPING_WEBHOOK_RETRY_SCHEDULE
WEBHOOK_JITTER = 0.1  # settings.ONEPING_WEBHOOK_RETRY_JITTER: ±10 %


@pytest.mark.parametrize("schedule", [DELIVERY_SCHEDULE, WEBHOOK_SCHEDULE])
def test_the_production_schedules_back_off(schedule):
    assert len(schedule) >= 3
    assert schedule[0] > 0
    assert schedule == sorted(schedule)  # never shorter than the step before
    assert schedule[-1] >= 100 * schedule[0]  # and minutes become hours


def assert_within_step(due: datetime, before: datetime, after: datetime, step: float, jitter):
    """`due` was set between `before` and `after` to now + step·(1 ± jitter)."""
    earliest = before + timedelta(seconds=step * (1 - jitter))
    latest = after + timedelta(seconds=step * (1 + jitter))
    assert earliest <= due <= latest, (step, (due - before).total_seconds())


def samples(next_delay, attempts_made: int, n: int = 400) -> list[float]:
    return [next_delay(attempts_made, None) for _ in range(n)]


@pytest.mark.parametrize(
    ("policy", "schedule", "jitter"),
    [
        (delivery_retry.policy, DELIVERY_SCHEDULE, DELIVERY_JITTER),
        (webhook_retry.policy, WEBHOOK_SCHEDULE, WEBHOOK_JITTER),
    ],
    ids=["deliveries", "webhooks"],
)
def test_each_retry_waits_its_own_step_with_jitter_both_ways(settings, policy, schedule, jitter):
    settings.ONEPING_DELIVERY_RETRY_SCHEDULE = DELIVERY_SCHEDULE
    settings.ONEPING_WEBHOOK_RETRY_SCHEDULE = WEBHOOK_SCHEDULE
    next_delay = policy().next_delay
    for attempts_made, step in enumerate(schedule, start=1):
        delays = samples(next_delay, attempts_made)
        assert all(step * (1 - jitter) <= delay <= step * (1 + jitter) for delay in delays)
        # The jitter is there, in both directions (400 uniform draws: never all in one half).
        assert min(delays) < step * (1 - jitter / 2) and max(delays) > step * (1 + jitter / 2)
    # A provider's Retry-After longer than the step wins.
    assert next_delay(1, schedule[0] * 10) == schedule[0] * 10


def make_due(model, pk: str) -> None:
    """Jump to the moment the scheduled retry is due."""
    model.objects.filter(pk=pk).update(next_attempt_at=timezone.now())


def test_a_failing_delivery_follows_the_production_schedule_to_the_last_attempt(
    settings, api, account
):
    settings.ONEPING_DELIVERY_RETRY_SCHEDULE = DELIVERY_SCHEDULE
    slack = FakeHTTPProvider(default=Canned(500, "internal_error")).start()
    try:
        # Unpaced (the operator's flag): the attempts follow one another at once here,
        # faster than the webhook's rate; the subject is the schedule, not pacing.
        ChannelConfig.objects.create(
            account=account,
            kind="slack",
            config={"webhook_url": f"{slack.url}/services/T/B/X"},
            unpaced=True,
        )
        accepted = api.post_json(
            "/api/v1/send", {"message": "hi", "channels": ["slack"], "recipient": "ops"}
        ).json()
        pk = accepted["deliveries"][0]["id"]

        for attempt_number, step in enumerate(DELIVERY_SCHEDULE, start=1):
            before = timezone.now()
            delivery_service.attempt(pk)
            after = timezone.now()
            delivery = Delivery.objects.get(pk=pk)
            assert (delivery.status, delivery.attempts) == ("retrying", attempt_number)
            assert_within_step(delivery.next_attempt_at, before, after, step, DELIVERY_JITTER)
            # Not before its time: an early task finds nothing to do.
            delivery_service.attempt_many([pk])
            assert Delivery.objects.get(pk=pk).attempts == attempt_number
            make_due(Delivery, pk)

        delivery_service.attempt(pk)
        delivery = Delivery.objects.get(pk=pk)
        assert delivery.status == "failed"
        assert delivery.attempts == len(DELIVERY_SCHEDULE) + 1
        assert delivery.next_attempt_at is None
        assert len(slack.requests) == len(DELIVERY_SCHEDULE) + 1
    finally:
        slack.stop()


def test_a_failing_webhook_follows_the_production_schedule_to_the_last_attempt(settings, account):
    settings.ONEPING_WEBHOOK_RETRY_SCHEDULE = WEBHOOK_SCHEDULE
    receiver = FakeHTTPProvider(default=Canned(500, "oops")).start()
    try:
        endpoint = WebhookEndpoint.objects.create(
            account=account, url=f"{receiver.url}/hooks", secret=new_secret()
        )
        event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
        pk = WebhookDelivery.objects.get(event=event).pk

        for attempt_number, step in enumerate(WEBHOOK_SCHEDULE, start=1):
            before = timezone.now()
            sending.attempt(pk)
            after = timezone.now()
            delivery = WebhookDelivery.objects.get(pk=pk)
            assert (delivery.status, delivery.attempts) == ("retrying", attempt_number)
            assert_within_step(delivery.next_attempt_at, before, after, step, WEBHOOK_JITTER)
            sending.attempt_many([pk])
            assert WebhookDelivery.objects.get(pk=pk).attempts == attempt_number
            make_due(WebhookDelivery, pk)

        sending.attempt(pk)
        delivery = WebhookDelivery.objects.get(pk=pk)
        assert delivery.status == "failed"
        assert delivery.attempts == len(WEBHOOK_SCHEDULE) + 1
        assert len(receiver.requests) == len(WEBHOOK_SCHEDULE) + 1
    finally:
        receiver.stop()
