"""The one outbox worker (oneping/outbox/): its steps on a tiny outbox declared here, each
real kind's policy and lease named in settings, and the one task shape (old messages too).

The tiny outbox works on webhook delivery rows (any table with the outbox columns would
do) with its own act and record, so these tests see the skeleton alone: what it claims,
that it acts once per claimed row, what "still ours" keeps, how it plans a retry, what
the sweep and the interruption cap pick.
"""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from channels_app.delivery import DELIVERIES
from channels_app.models import Delivery
from channels_app.tasks import deliver
from oneping import bulk, queueing
from oneping.celery import app
from oneping.outbox import Outbox
from oneping.retry import RetryPolicy
from tests.fakes import Canned, FakeHTTPProvider
from tests.inbound_helpers import as_json, create_inbound_endpoint, inbound_path, send_to_slack_rule
from webhooks import events
from webhooks.inbound.processing import INBOUND
from webhooks.models import InboundEvent, WebhookDelivery, WebhookEndpoint
from webhooks.sending import WEBHOOKS
from webhooks.signing import new_secret
from webhooks.tasks import process_inbound, send_webhook


class Tiny:
    """A tiny outbox: `act` answers what `answers` says (default "ok"); `record` keeps the
    outcomes still ours, succeeded or retried (a dead letter when out of attempts)."""

    def __init__(self, *, schedule=(60.0,), batch: int = 4, **fields):
        self.answers: dict[str, str] = {}
        self.acted: list[str] = []
        self.recorded: list[tuple[str, str]] = []
        self.outbox = Outbox(
            name="tiny rows",
            model=WebhookDelivery,
            task_name="tests.tiny",
            waiting="pending",
            claimed="sending",
            retrying="retrying",
            lease_setting="ONEPING_WEBHOOK_LEASE_SECONDS",
            policy=lambda: RetryPolicy(tuple(schedule), jitter=0.0),
            load=lambda ids: list(WebhookDelivery.objects.filter(pk__in=ids)),
            act=self.act,
            record=self.record,
            batch=batch,
            **fields,
        )

    def act(self, row: WebhookDelivery) -> str:
        self.acted.append(row.pk)
        answer = self.answers.get(row.pk, "ok")
        if answer == "claimed again":  # the lease ran out, another worker took the row
            WebhookDelivery.objects.filter(pk=row.pk).update(
                lease_expires_at=timezone.now() + timedelta(hours=1)
            )
        return answer

    def record(self, outcomes, claim) -> None:
        now = timezone.now()
        with transaction.atomic():
            mine = claim.still_ours(outcomes)
            for row, outcome in mine:
                row.lease_expires_at = None
                if outcome == "ok":
                    row.status = "succeeded"
                elif claim.outbox.retry_later(row, None, now) is None:
                    row.status = "failed"
                self.recorded.append((row.pk, row.status))
            fields = ["status", "lease_expires_at", "next_attempt_at", "enqueued_at"]
            bulk.update_rows([row for row, _ in mine], fields)


@pytest.fixture
def rows(account):
    """Five pending rows, oldest first."""
    endpoints = [
        WebhookEndpoint.objects.create(account=account, url="https://h.test/", secret=new_secret())
        for _ in range(5)
    ]
    event = events.create_event(account, events.TEST_EVENT, {}, endpoints=endpoints)
    pks = []
    for n, endpoint in enumerate(endpoints):
        delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            enqueued_at=timezone.now() - timedelta(minutes=10 - n), max_attempts=2
        )
        pks.append(delivery.pk)
    return pks


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, list, dict | None, float | None]]:
    """What would have been sent to the broker: (task name, args, kwargs, countdown)."""
    sent = []

    def send_task(name, args=None, kwargs=None, countdown=None):
        sent.append((name, args, kwargs, countdown))

    monkeypatch.setattr(app, "send_task", send_task)
    return sent


def status(pk: str) -> str:
    return WebhookDelivery.objects.get(pk=pk).status


def test_a_task_claims_its_row_and_a_batch_of_the_oldest_waiting_ones_acting_once_each(rows):
    tiny = Tiny(batch=3)

    # A message of the old shape: one bare id.
    tiny.outbox.run_task(rows[4])

    assert sorted(tiny.acted) == sorted([rows[4], rows[0], rows[1]])
    assert {pk: status(pk) for pk in rows} == {
        rows[0]: "succeeded",
        rows[1]: "succeeded",
        rows[2]: "pending",
        rows[3]: "pending",
        rows[4]: "succeeded",
    }
    # The taken rows' own tasks find nothing to do.
    tiny.outbox.attempt_many([rows[0]])
    tiny.outbox.attempt_many([rows[1]])
    assert len(tiny.acted) == 3


def test_the_claim_uses_the_lease_its_setting_names(rows, settings):
    settings.ONEPING_WEBHOOK_LEASE_SECONDS = 77
    leases = []
    outbox = replace(
        Tiny().outbox,
        act=lambda row: leases.append(row.lease_expires_at - row.updated_at) or "ok",
    )

    outbox.attempt(rows[0])

    assert leases == [timedelta(seconds=77)]


def test_an_outcome_is_recorded_only_while_the_claim_still_holds_the_row(rows):
    tiny = Tiny()
    tiny.answers[rows[0]] = "claimed again"

    tiny.outbox.attempt(rows[0])

    assert tiny.acted == [rows[0]]
    assert tiny.recorded == []  # the other worker's claim records it
    assert status(rows[0]) == "sending"


def test_a_failure_is_retried_by_a_countdown_task_then_dead_lettered(
    rows, published, django_capture_on_commit_callbacks
):
    tiny = Tiny(schedule=(60.0,))
    tiny.answers[rows[0]] = "failed"

    with django_capture_on_commit_callbacks(execute=True):
        tiny.outbox.attempt(rows[0])

    row = WebhookDelivery.objects.get(pk=rows[0])
    assert (row.status, row.attempts) == ("retrying", 1)
    assert row.next_attempt_at == row.enqueued_at  # a countdown task carries it
    assert published == [("tests.tiny", [[rows[0]]], {"retry_of": 1}, 60.0)]

    # Its countdown task, a moment early, makes the last attempt: a dead letter.
    WebhookDelivery.objects.filter(pk=rows[0]).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        tiny.outbox.run_task([rows[0]], retry_of=1)
    assert status(rows[0]) == "failed"
    assert len(published) == 1


def test_a_wait_longer_than_a_countdown_is_left_to_the_sweep(rows, published, settings):
    settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS = 3600  # the other rows are not lost
    tiny = Tiny(schedule=(settings.ONEPING_MAX_COUNTDOWN_SECONDS + 1,))
    tiny.answers[rows[0]] = "failed"

    tiny.outbox.attempt(rows[0])

    row = WebhookDelivery.objects.get(pk=rows[0])
    assert (row.status, row.enqueued_at) == ("retrying", None)
    assert published == []
    assert tiny.outbox.sweep() == 0  # not due yet
    WebhookDelivery.objects.filter(pk=rows[0]).update(next_attempt_at=timezone.now())
    assert tiny.outbox.sweep() == 1
    assert published == [("tests.tiny", [[rows[0]]], None, None)]


def test_the_sweep_hands_out_lost_rows_and_claims_whose_worker_died(rows, published, settings):
    settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS = 180
    long_ago = timezone.now() - timedelta(hours=1)
    WebhookDelivery.objects.filter(pk=rows[0]).update(
        status="sending", lease_expires_at=long_ago, attempts=1
    )
    WebhookDelivery.objects.filter(pk=rows[1]).update(enqueued_at=None)
    WebhookDelivery.objects.filter(pk=rows[2]).update(enqueued_at=timezone.now())
    WebhookDelivery.objects.filter(pk=rows[3]).update(status="succeeded")
    WebhookDelivery.objects.filter(pk=rows[4]).update(enqueued_at=None)  # lost, not receiving

    tiny = Tiny(receiving=~Q(pk=rows[4]))
    assert tiny.outbox.sweep() == 2

    assert sorted(args[0][0] for _, args, _, _ in published) == sorted(rows[:2])
    # The lost row was marked enqueued: left alone for a while. The dead worker's claim
    # is handed out again until a worker claims it afresh.
    published.clear()
    assert tiny.outbox.sweep() == 1
    assert published == [("tests.tiny", [[rows[0]]], None, None)]


def test_a_row_past_the_interruption_cap_is_given_up_not_acted_on(rows, settings):
    settings.ONEPING_INBOUND_MAX_INTERRUPTIONS = 2
    given_up = []

    def give_up(poisoned: Q, now) -> int:
        given_up.append(list(WebhookDelivery.objects.filter(poisoned).values_list("pk", flat=True)))
        return WebhookDelivery.objects.filter(poisoned).update(status="failed")

    tiny = Tiny(max_interruptions="ONEPING_INBOUND_MAX_INTERRUPTIONS", give_up=give_up)
    # Claimed twice already, each time by a worker that died: this claim is the third.
    WebhookDelivery.objects.filter(pk=rows[0]).update(attempts=2)

    tiny.outbox.attempt_many([rows[0], rows[1]])

    assert tiny.acted == [rows[1]]
    assert given_up == [[rows[0]]]
    assert status(rows[0]) == "failed"


@pytest.mark.parametrize(
    ("outbox", "kind", "default_jitter", "default_lease"),
    [(DELIVERIES, "DELIVERY", 0.2, 120), (WEBHOOKS, "WEBHOOK", 0.1, 60)],
    ids=["deliveries", "webhooks"],
)
def test_each_kinds_retry_policy_and_lease_come_from_its_settings(
    settings, outbox, kind, default_jitter, default_lease
):
    import oneping.settings as production

    setattr(settings, f"ONEPING_{kind}_RETRY_SCHEDULE", [7, 70, 700])
    setattr(settings, f"ONEPING_{kind}_RETRY_JITTER", 0.05)
    assert outbox.policy() == RetryPolicy((7, 70, 700), 0.05, honour_retry_after=True)
    assert outbox.policy().max_attempts == 4
    assert outbox.lease_setting == f"ONEPING_{kind}_LEASE_SECONDS"
    # The defaults are today's (±20 % and ±10 % before the jitter had a name).
    assert getattr(production, f"ONEPING_{kind}_RETRY_JITTER") == default_jitter
    assert getattr(production, outbox.lease_setting) == default_lease


def test_inbound_events_are_never_retried_and_cap_their_interruptions_by_setting():
    assert INBOUND.policy is None and INBOUND.retrying is None
    assert INBOUND.lease_setting == "ONEPING_INBOUND_LEASE_SECONDS"
    assert INBOUND.max_interruptions == "ONEPING_INBOUND_MAX_INTERRUPTIONS"


def test_every_outbox_task_is_enqueued_as_a_list_of_ids(published):
    queueing.enqueue("tests.tiny", ["a", "b"], countdown=5, retry_of=2)
    queueing.enqueue_together("tests.tiny", ["c", "d"])

    assert published == [
        ("tests.tiny", [["a"]], {"retry_of": 2}, 5),
        ("tests.tiny", [["b"]], {"retry_of": 2}, 5),
        ("tests.tiny", [["c", "d"]], None, None),
    ]


@pytest.mark.parametrize("shape", ["list", "bare id (queued before the change)"])
def test_the_three_tasks_take_a_list_or_a_bare_id(api, channels, slack, account, shape):
    def as_sent(pk: str):
        return [pk] if shape == "list" else pk

    # Deliveries
    accepted = api.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["slack"], "recipient": "ops"}
    ).json()
    delivery_id = accepted["deliveries"][0]["id"]
    deliver(as_sent(delivery_id))
    assert Delivery.objects.get(pk=delivery_id).status == "delivered"

    # Webhook deliveries
    receiver = FakeHTTPProvider(default=Canned(200, "thanks")).start()
    try:
        endpoint = WebhookEndpoint.objects.create(
            account=account, url=f"{receiver.url}/hooks", secret=new_secret()
        )
        event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
        webhook_id = WebhookDelivery.objects.get(event=event).pk
        send_webhook(as_sent(webhook_id))
        assert WebhookDelivery.objects.get(pk=webhook_id).status == "succeeded"
    finally:
        receiver.stop()

    # Inbound events
    inbound = create_inbound_endpoint(api, verification="none", rules=send_to_slack_rule())
    Client().post(inbound_path(inbound), as_json({"event": "x"}), content_type="application/json")
    event_id = InboundEvent.objects.get().pk
    process_inbound(as_sent(event_id))
    assert InboundEvent.objects.get(pk=event_id).status == "processed"
