"""Test mode's simulator through a real worker: every magic recipient of the table
(channels_app/integrations/simulator/magic.py), on every channel kind, ends in its
documented status, with its events delivered to a test-mode webhook endpoint."""

import pytest

from channels_app.integrations import channel_kinds, get_integration
from channels_app.integrations.simulator import magic
from channels_app.models import Delivery, ProviderReport
from tests.conftest import delivery_ids, send, wait_until
from tests.simulator_helpers import (
    event_types,
    events_of,
    expected_statuses,
    op_test_client,
    outcome_statuses,
    verified_events,
    webhook_endpoint,
)

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _quick_reports(settings):
    settings.ONEPING_SIMULATOR_REPORT_DELAY_SECONDS = 0.2


def ended(delivery_id: str, status: str) -> Delivery:
    """The delivery once it reached `status` and every report about it was applied."""

    def reached() -> Delivery | None:
        delivery = Delivery.objects.get(pk=delivery_id)
        pending = ProviderReport.objects.filter(
            provider_message_id=delivery.provider_message_id
        ).exclude(status=ProviderReport.Status.APPLIED)
        if delivery.status == status and not (delivery.provider_message_id and pending.exists()):
            return delivery
        return None

    return wait_until(reached, timeout=60)


@pytest.mark.parametrize("kind", channel_kinds())
def test_every_magic_recipient_ends_in_its_documented_status(
    kind, account, receiver, celery_worker
):
    # Given a test key, a test-mode endpoint, and no channel configured at all
    api = op_test_client(account)
    secret = webhook_endpoint(api, receiver)
    family = get_integration(kind).simulated_as
    entries = [entry for entry in magic.TABLE if entry.family == family]

    # When each of the family's magic recipients is sent a message on this kind
    sent = {}
    for entry in entries:
        accepted = send(api, "Simulated", channels=[kind], recipient=entry.example)
        assert accepted["livemode"] is False
        sent[entry] = delivery_ids(accepted)[0]

    # Then each delivery went through its documented statuses…
    for entry, delivery_id in sent.items():
        statuses = expected_statuses(kind, entry)
        delivery = ended(delivery_id, statuses[-1])
        assert outcome_statuses(delivery) == list(statuses), (entry.recipient, delivery.steps)
        if statuses[-1] != "failed":
            assert delivery.provider_message_id.startswith("sim_")

    # …and the endpoint received one verified event per status, each livemode false
    def all_events() -> list[dict] | None:
        events = verified_events(receiver, secret)
        wanted = sum(len(expected_statuses(kind, entry)) for entry in entries)
        got = [e for e in events if e["event"].startswith("message.")]
        return events if len(got) >= wanted else None

    events = wait_until(all_events, timeout=60)
    assert all(event["livemode"] is False for event in events)
    for entry, delivery_id in sent.items():
        wanted = [f"message.{status}" for status in expected_statuses(kind, entry)]
        assert event_types(events_of(events, delivery_id)) == wanted, entry.recipient


def test_anything_else_is_delivered(account, celery_worker):
    api = op_test_client(account)
    recipients = {
        "email": "someone@example.com",
        "sms": "+14155550150",  # in the fictional range, but not in the table
        "whatsapp": "+442079460000",
        "telegram": "whoever",
    }
    for kind, recipient in recipients.items():
        accepted = send(api, "hello", channels=[kind], recipient=recipient)
        delivery = ended(delivery_ids(accepted)[0], "delivered")
        assert delivery.attempts == 1
