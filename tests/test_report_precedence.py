"""One state machine for every delivery (issue #17): the precedence table that decides what
a late, out-of-order or repeated provider report changes (channels_app/reports.py, and the
README's "Provider status callbacks").

The table itself is checked pair by pair against a grid written out here from the README;
the scenarios go the real way: reports stored as a provider's callback stores them
(channels_app.callbacks.receiving.store, or the live callback routes for Twilio and Meta)
and applied by the reports outbox (processing.apply_now, or a real worker)."""

import json
from collections.abc import Iterable

import pytest

from channels_app import reports
from channels_app.callbacks import processing, receiving
from channels_app.delivery import retry_failed
from channels_app.integrations import callbacks
from channels_app.integrations.callbacks import CallbackProvider, ParsedReport
from channels_app.models import ChannelConfig, Delivery, Message, ProviderReport
from tests.callback_helpers import (
    meta_status,
    meta_statuses,
    post_meta,
    post_twilio,
    reloaded,
    sent_delivery,
    timeline,
    twilio_status,
)
from tests.conftest import wait_until
from tests.fakes_phones import APP_SECRET, AUTH_TOKEN, PHONE_NUMBER_ID
from webhooks.events import MESSAGE_STATUSES
from webhooks.models import Event

Reported = ProviderReport.Reported
# Twilio signs over ONEPING_PUBLIC_URL, as behind a proxy.
pytestmark = pytest.mark.usefixtures("public_url")

# --- The table, every pair ---------------------------------------------------------------

# What a report (column) makes of a delivery (row): its new status, "." for no change.
# Written out by hand from the README's table, so the code's table is checked, not copied.
GRID = """
            sent  delivered  read  opened  clicked  deferred  failed  bounced  complained
standby     .     .          .     .       .        .         .       .        .
queued      .     .          .     .       .        .         .       .        .
sending     .     .          .     .       .        .         .       .        .
retrying    .     .          .     .       .        .         .       .        .
sent        .     delivered  read  opened  clicked  .         failed  bounced  complained
delivered   .     .          read  opened  clicked  .         failed  bounced  complained
read        .     .          .     .       clicked  .         failed  bounced  complained
opened      .     .          .     .       clicked  .         failed  bounced  complained
clicked     .     .          .     .       .        .         failed  bounced  complained
failed      .     .          .     .       .        .         .       bounced  complained
bounced     .     .          .     .       .        .         .       .        complained
complained  .     .          .     .       .        .         .       .        .
skipped     .     .          .     .       .        .         .       .        .
"""


def grid() -> dict[tuple[str, str], str | None]:
    header, *rows = (line.split() for line in GRID.strip().splitlines())
    return {
        (row[0], reported): None if cell == "." else cell
        for row in rows
        for reported, cell in zip(header, row[1:], strict=True)
    }


def test_the_grid_covers_every_delivery_status_and_every_report_kind():
    assert set(grid()) == {(status, kind) for status in Delivery.Status for kind in Reported}


@pytest.mark.parametrize(
    ("current", "reported", "expected"),
    [(current, reported, expected) for (current, reported), expected in grid().items()],
    ids=lambda value: value or "-",
)
def test_the_precedence_table(current, reported, expected):
    assert reports.next_status(current, reported) == expected


def test_every_status_a_report_moves_to_is_a_delivery_status_with_its_event():
    for status in reports.PRECEDENCE:
        assert status in Delivery.Status.values
        assert status in Reported.values
        assert status in MESSAGE_STATUSES  # customers can subscribe to message.<status>


def test_every_report_kind_a_provider_handler_may_name_can_be_stored():
    named = {
        *(callbacks.SENT, callbacks.DELIVERED, callbacks.READ, callbacks.OPENED),
        *(callbacks.CLICKED, callbacks.DEFERRED),
        *(callbacks.FAILED, callbacks.BOUNCED, callbacks.COMPLAINED),
    }
    assert named == set(Reported.values)


def test_complained_is_a_failure_that_starts_fallbacks_and_can_be_retried():
    assert Delivery.Status.COMPLAINED in Delivery.ENDED_FAILED
    assert Delivery.Status.COMPLAINED in Delivery.FINAL
    assert Delivery.Status.COMPLAINED not in Delivery.SUCCEEDED


# --- Through the reports outbox ------------------------------------------------------------


class Postmark(CallbackProvider):
    """Stands in for issue #17's email providers, whose tracking events will be stored the
    way this stores them: storing and applying read only the provider's name."""

    name = "postmark"
    title = "Postmark"


PROVIDER = Postmark()
MESSAGE_ID = "0a129aee-e1cd-480d-b08d-4f48548ff48d"  # Postmark's MessageID shape


@pytest.fixture
def email_channel(account) -> ChannelConfig:
    return ChannelConfig.objects.create(
        account=account, kind="email", config={"from_email": "alerts@acme.test"}
    )


@pytest.fixture
def email_delivery(email_channel) -> Delivery:
    return sent_delivery(email_channel, MESSAGE_ID, address="jane@example.com")


def parsed(status: str, n: int = 0, error_text: str = "") -> ParsedReport:
    """The provider's n-th report of `status` (its own event: a second open is n=1)."""
    return ParsedReport(
        provider_message_id=MESSAGE_ID,
        status=status,
        provider_status=status.capitalize(),
        dedup_key=f"{MESSAGE_ID}:{status}:{n}",
        payload={"RecordType": status.capitalize()},
        error_text=error_text,
    )


def store(channel: ChannelConfig, *reported: ParsedReport) -> tuple[list[str], int]:
    return receiving.store(channel, PROVIDER, list(reported))


def apply_in_order(ids: Iterable[str]) -> None:
    for report_id in ids:
        processing.apply_now(report_id)


def events_of(delivery: Delivery) -> list[str]:
    return list(
        Event.objects.filter(delivery=delivery).order_by("sequence").values_list("type", flat=True)
    )


BOUNCE = "The server was unable to deliver your message (ex: unknown user, mailbox not found)."

# Reports in the order they arrive: the changes announced, the delivery's status after
# them and its message's.
SCENARIOS = {
    "delivered before sent": (
        ["delivered", "sent"], ["delivered"], "delivered", "delivered"
    ),
    "opened before delivered": (
        ["opened", "delivered"], ["opened"], "opened", "delivered"
    ),
    "bounce after delivered": (
        ["delivered", "bounced"], ["delivered", "bounced"], "bounced", "failed"
    ),
    "complaint after opened": (
        ["delivered", "opened", "complained"], ["delivered", "opened", "complained"],
        "complained", "failed",
    ),
    "click without open": (
        ["clicked", "opened"], ["clicked"], "clicked", "delivered"
    ),
    "deferred, then delivered": (
        ["deferred", "delivered"], ["delivered"], "delivered", "delivered"
    ),
    "no success undoes a bounce": (
        ["bounced", "delivered", "opened"], ["bounced"], "bounced", "failed"
    ),
    "complaint after bounce": (
        ["bounced", "complained"], ["bounced", "complained"], "complained", "failed"
    ),
    "bounce after complaint": (
        ["complained", "bounced"], ["complained"], "complained", "failed"
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("arriving", "announced", "ends", "message_ends"), SCENARIOS.values(), ids=SCENARIOS
)
def test_reports_out_of_order(
    email_channel, email_delivery, arriving, announced, ends, message_ends
):
    """Every report lands on the timeline, in arrival order; the status ends where the
    table says; only changes are announced; the same reports again change nothing."""
    reported = [
        parsed(status, error_text=BOUNCE if status == "bounced" else "") for status in arriving
    ]
    ids, duplicates = store(email_channel, *reported)
    assert (len(ids), duplicates) == (len(arriving), 0)

    apply_in_order(ids)

    delivery = reloaded(email_delivery)
    assert delivery.status == ends
    assert delivery.fate_due_at is None
    assert Message.objects.get().status == message_ends
    steps = timeline(delivery)
    # Each under the status it reported; "deferred" is none, so under the delivery's.
    assert [status for status, _ in steps] == [
        "sent" if status == "deferred" else status for status in arriving
    ]
    for status, (_, detail) in zip(arriving, steps, strict=True):
        # Worded by the registered Postmark handler (integrations/postmark/callbacks.py).
        assert f"Postmark reported {status.capitalize()}" in detail
    changed = [detail for _, detail in steps if "no change" not in detail]
    assert len(changed) == len(announced)
    changes = [f"message.{status}" for status in announced]
    assert events_of(delivery) == changes
    if ends == "bounced":
        assert delivery.last_error == BOUNCE
    assert ProviderReport.objects.filter(status="applied", delivery=delivery).count() == len(ids)

    # A provider's retry of each report: stored once, so nothing more happens.
    again, duplicates = store(email_channel, *reported)

    assert (again, duplicates) == ([], len(arriving))
    assert ProviderReport.objects.count() == len(arriving)
    assert timeline(delivery) == steps
    assert reloaded(delivery).status == ends
    assert events_of(delivery) == changes


def test_a_second_open_is_its_own_report_kept_on_the_timeline(email_channel, email_delivery):
    ids, _ = store(email_channel, parsed("opened", 0), parsed("opened", 1))

    apply_in_order(ids)

    assert reloaded(email_delivery).status == "opened"
    [(first, _), (second, detail)] = timeline(email_delivery)
    assert (first, second) == ("opened", "opened")
    assert "no change: it is opened" in detail
    assert events_of(email_delivery) == ["message.opened"]


def slack_fallback(of: Delivery) -> Delivery:
    """A fallback of `of`'s message, waiting on standby for `of`'s fate."""
    return Delivery.objects.create(
        message=of.message,
        account=of.account,
        channel="slack",
        address="channel webhook",
        status=Delivery.Status.STANDBY,
        fallback_order=1,
    )


def test_a_bounce_starts_the_fallback_waiting_for_it(email_channel, email_delivery):
    fallback = slack_fallback(email_delivery)
    ids, _ = store(email_channel, parsed("bounced", error_text=BOUNCE))

    apply_in_order(ids)

    assert reloaded(email_delivery).status == "bounced"
    assert reloaded(fallback).status == "queued"
    assert timeline(fallback)[-1] == ("queued", "fallback: email bounced")
    assert Message.objects.get().status == "processing"


def test_a_bounce_after_delivered_fails_the_message_and_skipped_fallbacks_stay_skipped(
    email_channel, email_delivery
):
    """Delivered skipped the fallback; the later bounce cannot take that back, but the
    message's status is derived again: its one delivery that ran failed."""
    fallback = slack_fallback(email_delivery)
    delivered, _ = store(email_channel, parsed("delivered"))
    apply_in_order(delivered)
    assert reloaded(fallback).status == "skipped"
    assert Message.objects.get().status == "delivered"

    bounced, _ = store(email_channel, parsed("bounced", error_text=BOUNCE))
    apply_in_order(bounced)

    assert reloaded(email_delivery).status == "bounced"
    assert reloaded(fallback).status == "skipped"
    assert Message.objects.get().status == "failed"


def test_a_manual_retry_of_a_bounced_delivery_is_not_a_report(email_channel, email_delivery):
    """Reprocessing the dead letter starts a new attempt; a late report about the earlier
    send finds it queued and changes nothing."""
    bounced, _ = store(email_channel, parsed("bounced", error_text=BOUNCE))
    apply_in_order(bounced)

    retry_failed(reloaded(email_delivery))

    delivery = reloaded(email_delivery)
    assert delivery.status == "queued"
    assert timeline(delivery)[-1] == ("queued", "manual retry")
    assert ProviderReport.objects.count() == 1
    late, _ = store(email_channel, parsed("delivered"))
    apply_in_order(late)
    assert reloaded(delivery).status == "queued"
    assert "no change: it is queued" in timeline(delivery)[-1][1]


# --- Phones: the same table, through the live callback routes ---------------------------

SID = "SM" + "b" * 32


def test_read_then_delivered_on_whatsapp_through_twilio_keeps_read(whatsapp_twilio_channel):
    delivery = sent_delivery(whatsapp_twilio_channel, SID)
    read = twilio_status(SID, "read")
    delivered = twilio_status(SID, "delivered")
    for form in (read, delivered, read, delivered):  # then Twilio's retries of both
        post_twilio(whatsapp_twilio_channel, form, auth_token=AUTH_TOKEN)

    apply_in_order(
        ProviderReport.objects.order_by("received_at", "pk").values_list("pk", flat=True)
    )

    assert ProviderReport.objects.count() == 2
    assert reloaded(delivery).status == "read"
    assert [status for status, _ in timeline(delivery)] == ["read", "delivered"]
    assert "no change: it is read" in timeline(delivery)[1][1]
    assert events_of(delivery) == ["message.read"]
    assert Message.objects.get().status == "delivered"


def test_a_failure_after_delivered_fails_the_sms_and_its_message(sms_channel):
    """Under #16 this changed nothing; the table now lets a failure follow any success."""
    delivery = sent_delivery(sms_channel, SID)
    post_twilio(sms_channel, twilio_status(SID, "delivered"), auth_token=AUTH_TOKEN)
    post_twilio(sms_channel, twilio_status(SID, "undelivered", "30003"), auth_token=AUTH_TOKEN)
    post_twilio(sms_channel, twilio_status(SID, "undelivered", "30003"), auth_token=AUTH_TOKEN)

    apply_in_order(
        ProviderReport.objects.order_by("received_at", "pk").values_list("pk", flat=True)
    )

    failed = reloaded(delivery)
    assert ProviderReport.objects.count() == 2
    assert failed.status == "failed"
    assert "30003" in failed.last_error
    assert events_of(delivery) == ["message.delivered", "message.failed"]
    assert Message.objects.get().status == "failed"


def test_a_transient_failure_after_delivered_fails_without_sending_again(sms_channel):
    """A transient code resends only a delivery still "sent": after delivered the
    recipient has it, and a second send would repeat it."""
    delivery = sent_delivery(sms_channel, SID)
    post_twilio(sms_channel, twilio_status(SID, "delivered"), auth_token=AUTH_TOKEN)
    post_twilio(sms_channel, twilio_status(SID, "failed", "30001"), auth_token=AUTH_TOKEN)

    apply_in_order(
        ProviderReport.objects.order_by("received_at", "pk").values_list("pk", flat=True)
    )

    failed = reloaded(delivery)
    assert (failed.status, failed.next_attempt_at) == ("failed", None)
    assert "next attempt" not in timeline(delivery)[-1][1]


def test_a_meta_failure_after_read_fails_the_whatsapp_delivery(whatsapp_meta_channel):
    wamid = "wamid.HBgLMTQxNTU1NTI2NzEVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTgA"
    delivery = sent_delivery(whatsapp_meta_channel, wamid)
    failed = meta_status(
        wamid, "failed", 1750000009, errors=[{"code": 131026, "title": "Message undeliverable"}]
    )
    for status in (meta_status(wamid, "read", 1750000005), failed, failed):
        post_meta(
            whatsapp_meta_channel, meta_statuses(PHONE_NUMBER_ID, status), app_secret=APP_SECRET
        )

    apply_in_order(
        ProviderReport.objects.order_by("received_at", "pk").values_list("pk", flat=True)
    )

    assert ProviderReport.objects.count() == 2
    assert reloaded(delivery).status == "failed"
    assert events_of(delivery) == ["message.read", "message.failed"]


# --- Events reach an endpoint -------------------------------------------------------------


def test_a_bounce_and_then_a_complaint_reach_the_endpoint_through_a_worker(
    api, email_channel, email_delivery, receiver, celery_worker
):
    endpoint = api.post_json(
        "/api/v1/webhook-endpoints",
        {
            "url": f"{receiver.url}/hooks",
            "event_types": ["message.bounced", "message.complained"],
        },
    )
    assert endpoint.status_code == 201, endpoint.content

    # One report at a time, each applied by the worker before the next arrives.
    for status, ends in (
        ("delivered", "delivered"),
        ("bounced", "bounced"),
        ("complained", "complained"),
    ):
        store(email_channel, parsed(status, error_text=BOUNCE if status == "bounced" else ""))
        wait_until(lambda ends=ends: reloaded(email_delivery).status == ends)

    received = sorted(
        (json.loads(request.body) for request in receiver.wait_for(2)),
        key=lambda event: event["data"]["sequence"],
    )
    assert [event["event"] for event in received] == ["message.bounced", "message.complained"]
    assert {event["data"]["delivery_id"] for event in received} == {email_delivery.pk}
    assert [event["data"]["status"] for event in received] == ["bounced", "complained"]
    assert received[0]["data"]["error"] == BOUNCE
    wait_until(lambda: Message.objects.get().status == "failed")
