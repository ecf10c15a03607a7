"""Every documented answer of Twilio's Messages API and Meta's WhatsApp Cloud API, from the
loopback fakes (tests/fakes_phones.py), and what a delivery makes of it: permanent errors
end it naming the cause, transient ones retry it no sooner than the provider's
Retry-After; no secret in any of it.

Like tests/test_delivery.py, these run the worker's service one attempt at a time, so each
step can be checked; tests/test_phones_sending.py runs the flows through a real worker.
"""

import pytest
from django.utils import timezone

from channels_app import delivery as delivery_service
from channels_app.models import ChannelConfig, Delivery
from tests.conftest import send, unpaced
from tests.fakes import Canned
from tests.fakes_phones import (
    ACCOUNT_SID,
    FROM,
    MESSAGING_SERVICE_SID,
    SECRETS,
    SMS_CONFIG,
    TO,
    FakeMeta,
    FakeTwilio,
    form_of,
)


def first_attempt(api, channel: str, **fields) -> Delivery:
    # The tests attempt a delivery again at once (again(): made due now) to see how each
    # answer is sorted and retried: its channel is unpaced (the operator's flag), else
    # pacing would hold that attempt for the next token (tests/test_pacing*.py cover it).
    unpaced(*ChannelConfig.objects.all())
    body = send(api, "Your code is 123456", channels=[channel], recipient=TO, **fields)
    return attempt(body["deliveries"][0]["id"])


def attempt(delivery_id: str) -> Delivery:
    delivery_service.attempt(delivery_id)
    return Delivery.objects.get(pk=delivery_id)


def again(delivery: Delivery) -> Delivery:
    """The next attempt, made due now."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return attempt(delivery.pk)


def waits(delivery: Delivery) -> float:
    return (delivery.next_attempt_at - timezone.now()).total_seconds()


def assert_no_secret(delivery: Delivery) -> None:
    shown = delivery.last_error + "".join(step.detail for step in delivery.steps)
    assert not [secret for secret in SECRETS if secret in shown]


def assert_failed_at_once(delivery: Delivery, cause: str) -> None:
    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert cause in delivery.last_error, delivery.last_error
    assert [step.status for step in delivery.steps] == ["queued", "sending", "failed"]
    assert_no_secret(delivery)


# --- Twilio (SMS, and WhatsApp through Twilio) ----------------------------------------------


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (
            FakeTwilio.error(21211, f"The 'To' number {TO} is not a valid phone number."),
            "the recipient's phone number is not valid (error 21211: The 'To' number",
        ),
        (FakeTwilio.error(20003, "Authenticate", 401), "the Account SID or Auth Token is wrong"),
        (
            FakeTwilio.error(21610, "Attempt to send to unsubscribed recipient"),
            "the recipient has replied STOP",
        ),
        (
            FakeTwilio.error(21408, "Permission to send an SMS has not been enabled"),
            "sending to this region is not enabled",
        ),
        (
            FakeTwilio.error(
                21606,
                "The 'From' phone number provided is not a valid message-capable Twilio "
                "phone number for this destination.",
            ),
            "the sender number ('from') is not a message-capable Twilio number",
        ),
        (FakeTwilio.error(20404, "The requested resource was not found", 404), "does not know"),
        # Unknown to the table: the HTTP status decides, Twilio's words and link are kept.
        (
            FakeTwilio.error(21999, "Something new went wrong"),
            "Twilio answered 400 with error 21999: Something new went wrong "
            "(https://www.twilio.com/docs/errors/21999)",
        ),
        (Canned(403, "<html>Forbidden</html>"), "Twilio answered 403: Forbidden"),
    ],
)
def test_twilios_permanent_errors_fail_at_once_naming_the_cause(
    api, sms_channel, twilio, answer, cause
):
    twilio.answer(answer)

    assert_failed_at_once(first_attempt(api, "sms"), cause)
    assert len(twilio.requests) == 1


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (FakeTwilio.rate_limited(retry_after=30), "error 20429"),
        (FakeTwilio.unavailable(retry_after=30), "Twilio answered 503"),
        # A documented transient code decides even when the status alone would not.
        (FakeTwilio.error(30001, "Queue overflow", 400, **{"Retry-After": "30"}), "overflowed"),
        (
            FakeTwilio.error(14107, "SMS send rate limit exceeded", 400, **{"Retry-After": "30"}),
            "rate limit",
        ),
    ],
)
def test_twilios_transient_errors_wait_for_retry_after(api, sms_channel, twilio, answer, words):
    twilio.answer(answer)

    delivery = first_attempt(api, "sms")

    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert 28 < waits(delivery) <= 30  # the schedule says 0.2 s; Twilio asked for 30
    assert words in delivery.last_error
    assert_no_secret(delivery)
    # Not due yet: a duplicate task sends nothing; once due, the retry goes through.
    assert attempt(delivery.pk).attempts == 1
    assert again(delivery).status == "sent"
    assert len(twilio.requests) == 2


def test_a_twilio_outage_without_retry_after_follows_the_schedule(api, sms_channel, twilio):
    twilio.answer(Canned(500, "<html>Internal Server Error</html>"))

    delivery = first_attempt(api, "sms")

    assert delivery.status == "retrying"
    assert 0 < waits(delivery) <= 0.25  # the test schedule's 0.2 s, ± 20 %
    assert "Twilio answered 500" in delivery.last_error


def test_twilio_out_of_reach_is_transient_and_names_only_the_host(api, sms_channel, settings):
    settings.ONEPING_TWILIO_API_BASE = "http://127.0.0.1:9"  # discard: nothing listens

    delivery = first_attempt(api, "sms")

    assert delivery.status == "retrying"
    assert "could not connect to 127.0.0.1:9" in delivery.last_error
    assert ACCOUNT_SID not in delivery.last_error  # the URL's path is never quoted
    assert_no_secret(delivery)


def test_a_messaging_service_sends_instead_of_a_from_number(api, account, twilio):
    config = {**SMS_CONFIG, "messaging_service_sid": MESSAGING_SERVICE_SID}
    del config["from"]
    ChannelConfig.objects.create(account=account, kind="sms", config=config)

    assert first_attempt(api, "sms").status == "sent"

    form = form_of(twilio.requests[0])
    assert form == {
        "To": TO,
        "MessagingServiceSid": MESSAGING_SERVICE_SID,
        "Body": "Your code is 123456",
    }


def test_whatsapp_through_twilio_sends_a_session_message_between_whatsapp_addresses(
    api, whatsapp_twilio_channel, twilio
):
    delivery = first_attempt(api, "whatsapp")

    assert form_of(twilio.requests[0]) == {
        "To": f"whatsapp:{TO}",
        "From": f"whatsapp:{FROM}",
        "Body": "Your code is 123456",
    }
    assert delivery.status == "sent"
    assert delivery.segments is None  # segments are an SMS matter


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        (63016, "channel_options.whatsapp.template"),
        (63003, "the recipient's number is not on WhatsApp"),
    ],
)
def test_twilios_whatsapp_errors_name_the_cause(api, whatsapp_twilio_channel, twilio, code, cause):
    twilio.answer(FakeTwilio.error(code, "Failed to send freeform message"))

    assert_failed_at_once(first_attempt(api, "whatsapp"), cause)


# --- Meta's WhatsApp Cloud API ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (
            FakeMeta.error(
                131047,
                "Re-engagement message",
                details="Message failed to send because more than 24 hours have passed "
                "since the customer last replied to this number.",
            ),
            "only an approved template (channel_options.whatsapp.template)",
        ),
        (
            FakeMeta.error(
                190, "Error validating access token: Session has expired", 401, subcode=463
            ),
            "the access token has expired or was revoked",
        ),
        (FakeMeta.error(131026, "Message undeliverable"), "the number is not on WhatsApp"),
        (
            FakeMeta.error(132001, "Template name does not exist in the translation"),
            "the template does not exist in that language",
        ),
        (FakeMeta.error(100, "Invalid parameter"), "a parameter of the request is not valid"),
        (FakeMeta.error(131030, "Recipient phone number not in allowed list"), "allowed list"),
        # Unknown to the table: a 4xx is permanent and Meta's words are kept.
        (FakeMeta.error(999999, "A brand new refusal"), "(#999999) A brand new refusal"),
        (Canned(403, {"error": {"message": "Forbidden"}}), "WhatsApp answered 403: Forbidden"),
    ],
)
def test_metas_permanent_errors_fail_at_once_naming_the_cause(
    api, whatsapp_meta_channel, meta, answer, cause
):
    meta.answer(answer)

    assert_failed_at_once(first_attempt(api, "whatsapp"), cause)


@pytest.mark.parametrize("code", [4, 80007, 130429, 131048, 131056])
def test_metas_throttling_codes_come_with_400_and_are_transient(
    api, whatsapp_meta_channel, meta, code
):
    meta.answer(FakeMeta.throttled(code, retry_after=30))

    delivery = first_attempt(api, "whatsapp")

    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert 28 < waits(delivery) <= 30
    assert f"error {code}" in delivery.last_error
    assert_no_secret(delivery)
    assert again(delivery).status == "sent"


@pytest.mark.parametrize(
    ("answer", "retry_after"),
    [
        (
            Canned(
                429, {"error": {"message": "Too many calls", "code": 613}}, {"Retry-After": "30"}
            ),
            30,
        ),
        (Canned(503, {"error": {"message": "Service temporarily unavailable", "code": 2}}), None),
        (Canned(502, "<html>Bad Gateway</html>"), None),
    ],
)
def test_metas_429_and_5xx_are_transient(api, whatsapp_meta_channel, meta, answer, retry_after):
    meta.answer(answer)

    delivery = first_attempt(api, "whatsapp")

    assert delivery.status == "retrying"
    if retry_after:
        assert retry_after - 2 < waits(delivery) <= retry_after
    assert again(delivery).status == "sent"


def test_a_send_throttled_to_the_last_attempt_fails_with_the_cause(
    api, whatsapp_meta_channel, meta
):
    meta.answer(*[FakeMeta.throttled(131056)] * 4)

    delivery = first_attempt(api, "whatsapp")
    for _ in range(3):  # the test schedule: three retries
        delivery = again(delivery)

    assert (delivery.status, delivery.attempts) == ("failed", 4)
    assert "too many messages from this sender to this recipient" in delivery.last_error


def test_a_meta_template_without_variables_has_no_components(api, whatsapp_meta_channel, meta):
    template = {"name": "hello_world", "language": "en_US"}

    first_attempt(api, "whatsapp", channel_options={"whatsapp": {"template": template}})

    assert meta.requests[0].json()["template"] == {
        "name": "hello_world",
        "language": {"code": "en_US"},
    }
