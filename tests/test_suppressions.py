"""The suppression list at work (issue #17): a hard bounce, a complaint or a STOP puts the
address on it; a later delivery to it fails at once without calling the provider, naming
when and why, and its fallbacks start; lifting it lets the next send through. Sends go to
loopback fakes of Postmark, Twilio, Meta, Telegram and an SMTP server; bounces, complaints
and status callbacks are posted, signed, to the channels' real callback URLs, then applied
by the reports worker (or at once, as its task would)."""

import pytest

from channels_app import delivery as delivery_service
from channels_app import suppressions
from channels_app.integrations.base import ProviderCodes
from channels_app.models import (
    ChannelConfig,
    Contact,
    Delivery,
    Message,
    ProviderReport,
    Suppression,
)
from tests.callback_helpers import post_twilio, sent_delivery, twilio_status
from tests.conftest import TELEGRAM_TOKEN, send, unpaced, wait_until
from tests.fakes_phones import AUTH_TOKEN, TO, FakeMeta, FakeTwilio
from tests.fixtures_email_tracking import (
    POSTMARK_MESSAGE_ID,
    payload,
    payload_about,
    post_postmark,
)

# These tests attempt deliveries through one channel back to back (a suppressed one, then
# another, or a retry at once); their channels are unpaced (the operator's flag), since
# pacing would hold the next for its bucket's next token (tests/test_pacing*.py cover it).


@pytest.fixture
def channels(channels):
    unpaced(*channels.values())
    return channels


# Postmark's hard bounce (tests/fixtures/email_tracking/postmark/bounce_hard.json): its
# Description, then its Details.
BOUNCE_TEXT = (
    "The server was unable to deliver your message (ex: unknown user, mailbox not found). — "
    "smtp;550 5.1.1 The email account that you tried to reach does not exist."
)


@pytest.fixture
def telegram_channel(account, telegram) -> ChannelConfig:
    return ChannelConfig.objects.create(
        account=account,
        kind="telegram",
        config={"bot_token": TELEGRAM_TOKEN, "default_chat_id": "4242"},
    )


def email_with_telegram_fallback(api, recipient: str = "jane@example.com") -> list[Delivery]:
    accepted = send(
        api,
        "Reset your password: 482913",
        channels=["email"],
        fallback_channels=["telegram"],
        recipient=recipient,
    )
    return [Delivery.objects.get(pk=d["id"]) for d in accepted["deliveries"]]


def status_of(delivery: Delivery) -> str:
    return Delivery.objects.get(pk=delivery.pk).status


# --- Through the workers --------------------------------------------------------------------


def test_a_hard_bounce_suppresses_the_address_and_starts_the_fallback(
    api, postmark_channel, postmark, telegram_channel, telegram, public_url, celery_worker
):
    email, fallback = email_with_telegram_fallback(api, "Jane@Example.com")
    wait_until(lambda: status_of(email) == "sent")
    # Postmark accepted it: the fallback waits for the email's fate.
    assert status_of(fallback) == "standby"
    assert telegram.requests == []

    # Postmark's bounce webhook, about the message its answer named.
    email.refresh_from_db()
    bounce = payload_about("postmark", "bounce_hard", email)
    assert post_postmark(postmark_channel, bounce).status_code == 200

    wait_until(lambda: status_of(fallback) == "delivered")
    assert "Reset your password" in telegram.wait_for(1)[0].json()["text"]
    bounced = Delivery.objects.get(pk=email.pk)
    assert bounced.status == "bounced"
    assert bounced.last_error == BOUNCE_TEXT
    fallback_steps = [step.detail for step in Delivery.objects.get(pk=fallback.pk).timeline.all()]
    assert "fallback: email bounced" in fallback_steps
    suppression = Suppression.objects.get()
    assert (suppression.account, suppression.channel, suppression.address) == (
        email.account,
        "email",
        "jane@example.com",  # lower-cased
    )
    assert (suppression.reason, suppression.description) == ("hard_bounce", BOUNCE_TEXT)
    assert suppression.delivery_id == email.pk
    # One channel bounced, the fallback delivered.
    wait_until(lambda: Message.objects.get().status == "partially_failed")


def test_a_send_to_a_suppressed_address_fails_at_once_and_a_lift_lets_the_next_through(
    api,
    account,
    postmark_channel,
    postmark,
    telegram_channel,
    telegram,
    make_suppression,
    celery_worker,
):
    earlier = sent_delivery(postmark_channel, "pm-earlier", address="jane@example.com")
    suppression = make_suppression(
        account, "email", "jane@example.com", description=BOUNCE_TEXT, delivery=earlier
    )

    email, fallback = email_with_telegram_fallback(api, "JANE@example.com")

    wait_until(lambda: status_of(fallback) == "delivered")
    failed = Delivery.objects.get(pk=email.pk)
    assert failed.status == "failed"
    assert failed.last_error == (
        f"suppressed: jane@example.com hard-bounced on "
        f"{suppression.created_at:%Y-%m-%d %H:%M} UTC ({BOUNCE_TEXT}; delivery {earlier.pk}); "
        f"lift it with DELETE /api/v1/suppressions/{suppression.pk}"
    )
    assert postmark.requests == []  # never sent
    assert failed.attempts == 1  # one permanent failure: no retry
    wait_until(lambda: Message.objects.get(pk=email.message_id).status == "partially_failed")

    lifted = api.delete(f"/api/v1/suppressions/{suppression.pk}")
    assert lifted.status_code == 204

    again, _ = email_with_telegram_fallback(api, "jane@example.com")
    wait_until(lambda: status_of(again) == "sent")
    [request] = postmark.wait_for(1)
    assert request.json()["To"] == "jane@example.com"


def test_twilio_stop_fails_the_sms_suppresses_the_number_and_the_next_sms_fails_fast(
    api, sms_channel, twilio, channels, smtp, celery_worker
):
    twilio.answer(FakeTwilio.error(21610, "Attempt to send to unsubscribed recipient"))
    accepted = send(api, "Your code is 123456", channels=["sms"], recipient=TO)
    first = wait_until(
        lambda: Delivery.objects.filter(pk=accepted["deliveries"][0]["id"], status="failed").first()
    )

    assert "the recipient has replied STOP" in first.last_error
    assert first.attempts == 1  # permanent: not retried
    suppression = Suppression.objects.get()
    assert (suppression.channel, suppression.address, suppression.reason) == ("sms", TO, "opt_out")
    assert "21610" in suppression.description
    assert suppression.delivery_id == first.pk

    # The next one (to a contact with that number), with an email fallback: no call to
    # Twilio, the email goes.
    Contact.objects.create(
        account=sms_channel.account,
        identifier="jane",
        addresses={"sms": TO, "email": "jane@example.com"},
    )
    accepted = send(
        api,
        "Your code is 654321",
        channels=["sms"],
        fallback_channels=["email"],
        recipient="jane",
    )
    sms_id, email_id = (d["id"] for d in accepted["deliveries"])
    wait_until(lambda: Delivery.objects.get(pk=email_id).status == "sent")
    second = Delivery.objects.get(pk=sms_id)
    assert second.status == "failed"
    assert second.last_error.startswith(f"suppressed: {TO} opted out on ")
    assert len(twilio.requests) == 1


# --- One attempt at a time ------------------------------------------------------------------


def test_a_twilio_status_callback_with_21610_suppresses_the_number(
    account, sms_channel, public_url, apply_report
):
    delivery = sent_delivery(sms_channel, "SM" + "c" * 32)

    response = post_twilio(
        sms_channel,
        twilio_status(delivery.provider_message_id, "undelivered", "21610"),
        auth_token=AUTH_TOKEN,
    )
    assert response.status_code == 200
    apply_report(ProviderReport.objects.get())

    assert status_of(delivery) == "failed"
    suppression = suppressions.lookup(account, "sms", TO)
    assert suppression is not None
    assert suppression.reason == "opt_out"
    assert "21610" in suppression.description


def postmark_posts(channel: ChannelConfig, fixture: str) -> ProviderReport:
    """Postmark's signed post of a fixture to the channel's tracking webhook: the report
    it stored."""
    response = post_postmark(channel, payload("postmark", fixture))
    assert response.json()["stored"] == 1, response.content
    return ProviderReport.objects.latest("received_at")


@pytest.mark.parametrize(
    ("fixture", "reported", "reason"),
    [
        ("bounce_hard", "bounced", "hard_bounce"),
        ("spam_complaint", "complained", "complaint"),
        ("bounce_soft", "bounced", None),  # a full mailbox may empty
    ],
)
def test_which_reports_suppress_the_address(
    account, postmark_channel, public_url, apply_report, fixture, reported, reason
):
    delivery = sent_delivery(postmark_channel, POSTMARK_MESSAGE_ID, address="Ann@Example.com")

    apply_report(postmark_posts(postmark_channel, fixture))

    assert status_of(delivery) == reported
    suppression = suppressions.lookup(account, "email", "ann@example.com")
    assert (suppression.reason if suppression else None) == reason


def test_a_failure_without_an_opt_out_code_does_not_suppress(
    account, sms_channel, public_url, apply_report
):
    delivery = sent_delivery(sms_channel, "SM" + "d" * 32)

    post_twilio(
        sms_channel,
        # 30003, unreachable handset: the number may work another day.
        # https://www.twilio.com/docs/api/errors/30003
        twilio_status(delivery.provider_message_id, "undelivered", "30003"),
        auth_token=AUTH_TOKEN,
    )
    apply_report(ProviderReport.objects.get())

    assert status_of(delivery) == "failed"
    assert not Suppression.objects.exists()


def test_a_complaint_after_a_bounce_keeps_the_first_reason(
    account, postmark_channel, public_url, apply_report
):
    delivery = sent_delivery(postmark_channel, POSTMARK_MESSAGE_ID, address="ann@example.com")

    apply_report(postmark_posts(postmark_channel, "bounce_hard"))
    apply_report(postmark_posts(postmark_channel, "spam_complaint"))

    assert status_of(delivery) == "complained"
    [suppression] = Suppression.objects.all()
    assert suppression.reason == "hard_bounce"


def test_a_suppression_is_per_channel_kind(
    api, account, sms_channel, whatsapp_meta_channel, twilio, meta, make_suppression
):
    make_suppression(account, "sms", TO, reason="opt_out")

    accepted = send(api, "Your code is 123456", channels=["sms", "whatsapp"], recipient=TO)
    sms_id, whatsapp_id = (d["id"] for d in accepted["deliveries"])
    delivery_service.attempt_many([sms_id, whatsapp_id])

    assert Delivery.objects.get(pk=sms_id).status == "failed"
    assert Delivery.objects.get(pk=whatsapp_id).status == "sent"
    assert twilio.requests == []
    assert len(meta.requests) == 1


def test_smtp_mail_to_a_suppressed_address_is_not_sent_and_other_addresses_are(
    api, account, channels, smtp, make_suppression
):
    make_suppression(account, "email", "jane@example.com", reason="complaint")
    to_jane = send(api, "Hello", channels=["email"], recipient="Jane@EXAMPLE.com")
    to_john = send(api, "Hello", channels=["email"], recipient="john@example.com")
    ids = [to_jane["deliveries"][0]["id"], to_john["deliveries"][0]["id"]]

    delivery_service.attempt_many(ids)

    jane, john = (Delivery.objects.get(pk=pk) for pk in ids)
    assert jane.status == "failed"
    assert jane.last_error.startswith(
        "suppressed: jane@example.com complained (marked a message as spam) on "
    )
    assert john.status == "sent"
    [mail] = smtp.messages
    assert mail["to"] == ["john@example.com"]


def test_a_manual_retry_of_a_suppressed_delivery_fails_again_until_lifted(
    api, account, channels, smtp, make_suppression
):
    suppression = make_suppression(account, "email", "jane@example.com")
    accepted = send(api, "Hello", channels=["email"], recipient="jane@example.com")
    pk = accepted["deliveries"][0]["id"]
    delivery_service.attempt(pk)

    delivery_service.retry_failed(Delivery.objects.get(pk=pk))
    delivery_service.attempt(pk)
    assert Delivery.objects.get(pk=pk).status == "failed"
    assert smtp.messages == []

    suppressions.lift(suppression)
    delivery_service.retry_failed(Delivery.objects.get(pk=pk))
    delivery_service.attempt(pk)
    assert Delivery.objects.get(pk=pk).status == "sent"
    assert len(smtp.messages) == 1


def test_metas_marketing_opt_out_fails_the_message_without_suppressing_the_number(
    api, account, whatsapp_meta_channel, meta
):
    # 131050: the user stopped marketing messages only; a one-time code must still reach them.
    meta.answer(
        FakeMeta.error(131050, "Unable to deliver message: user stopped marketing messages")
    )
    accepted = send(api, "Your code is 123456", channels=["whatsapp"], recipient=TO)
    pk = accepted["deliveries"][0]["id"]

    delivery_service.attempt(pk)

    failed = Delivery.objects.get(pk=pk)
    assert failed.status == "failed"
    assert "stop receiving marketing messages" in failed.last_error
    assert not Suppression.objects.exists()


def test_an_opt_out_code_must_be_a_permanent_one():
    with pytest.raises(ValueError, match="permanent"):
        ProviderCodes(permanent={1: "bad"}, transient={2: "busy"}, opt_out=frozenset({2}))
