"""Under a backlog a task claims a batch of waiting rows; the rows' own tasks, arriving
later, must neither send them again nor retry them before their time."""

from collections import Counter

import pytest

from channels_app import delivery as delivery_service
from channels_app import outcomes
from channels_app.delivery import BATCH
from channels_app.models import Delivery, Message
from tests.conftest import delivery_ids, send, unpaced
from tests.fakes import Canned
from webhooks import sending as webhook_sending
from webhooks.models import WebhookAttempt, WebhookDelivery


@pytest.fixture
def channels(channels):
    # The subject is one task claiming a batch of many waiting rows; paced, only the head
    # of the one Slack webhook's deliveries could be claimed (tests/conftest.py unpaced).
    unpaced(*channels.values())
    return channels


def texts(provider) -> Counter:
    # Slack's payload says "text", Discord's "content".
    return Counter(
        request.json().get("text") or request.json()["content"] for request in provider.requests
    )


def test_one_task_takes_a_batch_and_the_later_tasks_send_nothing(api, channels, slack, discord):
    # Given more two-channel messages waiting than one batch holds
    count = BATCH // 2 + 3
    accepted = [send(api, f"n{n}", channels=("slack", "discord")) for n in range(count)]

    # When the first message's task runs, as the worker would run it under a backlog
    delivery_service.attempt_many(delivery_ids(accepted[0]), more=BATCH - 2)

    # Then it sent exactly one batch: its own first wave and the oldest others
    sent = Delivery.objects.exclude(status="queued")
    assert sent.count() == BATCH
    assert set(sent.values_list("status", flat=True)) == {"delivered"}
    assert set(delivery_ids(accepted[0])) <= set(sent.values_list("pk", flat=True))
    assert Message.objects.filter(status="delivered").count() == BATCH // 2

    # And the tasks of the messages it took find nothing to do; the rest are sent by theirs
    for body in accepted:
        delivery_service.attempt_many(delivery_ids(body))
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert texts(slack) == {f"n{n}": 1 for n in range(count)}
    assert texts(discord) == {f"n{n}": 1 for n in range(count)}
    timeline = Counter((d.pk, step.status) for d in Delivery.objects.all() for step in d.steps)
    assert set(timeline.values()) == {1}  # no delivery was claimed or recorded twice


def test_a_stale_task_does_not_retry_before_the_schedule(api, channels, slack, discord, settings):
    # Under a second away: within the early start a retry's own countdown is allowed
    settings.ONEPING_DELIVERY_RETRY_SCHEDULE = [0.9, 0.9]
    # Given a message taken by another message's batch, whose attempt failed
    first, second = send(api, "first", channels=("discord",)), send(api, "second")
    slack.answer(Canned(500, "rollup_error"))
    delivery_service.attempt_many(delivery_ids(first), more=BATCH - 1)
    [retrying] = Delivery.objects.filter(status="retrying")
    assert retrying.pk == delivery_ids(second)[0]

    # When its own first task arrives afterwards, and a countdown for an earlier attempt
    delivery_service.attempt_many(delivery_ids(second), more=BATCH - 1)
    delivery_service.attempt_many(delivery_ids(second), retry_of=0)

    # Then neither sends it: the retry waits for its time (or its own countdown)
    assert len(slack.requests) == 1
    assert Delivery.objects.get(pk=retrying.pk).status == "retrying"


def test_a_retry_countdown_may_start_a_moment_early(api, channels, slack):
    # The schedule in tests is 0.2 s: the countdown task of attempt 1 runs at once
    [delivery_id] = delivery_ids(send(api, "soon"))
    slack.answer(Canned(500, "rollup_error"))
    delivery_service.attempt_many([delivery_id])
    assert Delivery.objects.get(pk=delivery_id).status == "retrying"

    delivery_service.attempt_many([delivery_id], retry_of=1)

    assert Delivery.objects.get(pk=delivery_id).status == "delivered"
    assert len(slack.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_one_messages_failure_to_record_does_not_hold_back_the_batch(
    api, channels, slack, monkeypatch
):
    # Given three messages, and recording that fails for the second one only
    accepted = [send(api, f"m{n}") for n in range(3)]
    broken = accepted[1]["id"]
    settle = outcomes.settle_messages

    def settle_or_fail(messages):
        if any(message.pk == broken for message in messages):
            raise RuntimeError("simulated failure while recording")
        settle(messages)

    monkeypatch.setattr(outcomes, "settle_messages", settle_or_fail)

    # When one task sends them as a batch
    with pytest.raises(RuntimeError, match="simulated"):
        delivery_service.attempt_many(delivery_ids(accepted[0]), more=BATCH - 1)

    # Then the others are recorded; the broken one stays claimed, for its lease to run out
    statuses = {m.pk: m.deliveries.get().status for m in Message.objects.all()}
    assert statuses == {
        accepted[0]["id"]: "delivered",
        broken: "sending",
        accepted[2]["id"]: "delivered",
    }


def test_webhook_deliveries_are_batched_too(api, channels, slack, receiver):
    # Given events for several messages waiting for one endpoint
    response = api.post_json(
        "/api/v1/webhook-endpoints",
        {"url": f"{receiver.url}/hooks", "event_types": ["message.delivered"]},
    )
    assert response.status_code == 201, response.content
    accepted = [send(api, f"w{n}") for n in range(5)]
    delivery_service.attempt_many(delivery_ids(accepted[0]), more=BATCH)
    pending = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
    assert len(pending) == 5

    # When the first one's task runs, and then every task
    webhook_sending.attempt_many(pending[:1], more=webhook_sending.BATCH - 1)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    for pk in pending:
        webhook_sending.attempt_many([pk])

    # Then each event reached the endpoint once, with one attempt logged
    assert len(receiver.requests) == 5
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 5
    assert WebhookAttempt.objects.count() == 5
