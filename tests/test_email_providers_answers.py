"""Every documented answer of Postmark's, Mailgun's and Resend's send APIs, from the loopback
fakes (tests/fakes_email.py), and what a delivery makes of it: rejections and refusals end
it naming the provider's reason, rate limits and outages retry it no sooner than the
provider's Retry-After; no credential in any of it.

Like tests/test_phones_answers.py, these run the worker's service one attempt at a time;
tests/test_email_providers_sending.py runs the flows through a real worker.
"""

import logging

import pytest
from django.utils import timezone

from channels_app import delivery as delivery_service
from channels_app.models import ChannelConfig, Delivery
from tests.conftest import send, unpaced
from tests.fakes import Canned
from tests.fakes_email import SECRETS, TO, FakeMailgun, FakePostmark, FakeResend


def first_attempt(api, **fields) -> Delivery:
    # The tests attempt a delivery again at once (again(): made due now) to see how each
    # answer is sorted and retried: its channel is unpaced (the operator's flag), else
    # pacing would hold that attempt for the next token (tests/test_pacing*.py cover it).
    unpaced(*ChannelConfig.objects.all())
    body = send(api, "Your code is 123456", channels=["email"], recipient=TO, **fields)
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


def assert_no_secret(delivery: Delivery, logged: str = "") -> None:
    shown = delivery.last_error + "".join(step.detail for step in delivery.steps) + logged
    assert not [secret for secret in SECRETS if secret in shown]


def assert_failed_at_once(delivery: Delivery, cause: str) -> None:
    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert delivery.last_error.startswith(cause), delivery.last_error
    assert [step.status for step in delivery.steps] == ["queued", "sending", "failed"]
    assert_no_secret(delivery)


# --- Postmark (https://postmarkapp.com/developer/api/overview#error-codes) -----------------


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (
            FakePostmark.inactive(),
            "Postmark refused the recipient: You tried to send to a recipient that has been "
            f"marked as inactive. Found inactive addresses: {TO}.",
        ),
        (
            FakePostmark.invalid_to(),
            f"Postmark refused the recipient: Invalid 'To' address: '{TO}'.",
        ),
        (FakePostmark.bad_token(), "Postmark answered 401: Request does not contain a valid"),
        (FakePostmark.unverified_sender(), "Postmark answered 422: The 'From' address you"),
        # ErrorCode 300 about something else than a recipient: an API error all the same.
        (
            FakePostmark.error(300, "Invalid 'From' address: 'alerts'."),
            "Postmark answered 422: Invalid 'From' address",
        ),
        (
            Canned(302, "", headers={"Location": "https://elsewhere.example/"}),
            "Postmark answered 302",
        ),
    ],
)
def test_postmarks_refusals_fail_at_once_naming_the_reason(
    api, postmark_channel, postmark, answer, cause
):
    postmark.answer(answer)

    assert_failed_at_once(first_attempt(api), cause)
    assert len(postmark.requests) == 1  # a redirect is not followed


def test_postmark_accepting_with_a_delay_is_sent(api, postmark_channel, postmark):
    # "Message accepted, but delivery may be delayed.": anymail's "queued".
    postmark.answer(
        Canned(
            200,
            {
                "To": TO,
                "SubmittedAt": "2026-12-07T12:00:00Z",
                "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d",
                "ErrorCode": 0,
                "Message": "Message accepted, but delivery may be delayed.",
            },
        )
    )

    delivery = first_attempt(api)

    assert delivery.status == "sent"
    assert delivery.provider_message_id == "0a129aee-e1cd-480d-b08d-4f48548ff48d"


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            FakePostmark.error(429, "Rate limit exceeded", 429, **{"Retry-After": "30"}),
            "Postmark answered 429: Rate limit exceeded",
        ),
        (
            Canned(503, "Service Unavailable", headers={"Retry-After": "30"}),
            "Postmark answered 503: Service Unavailable",
        ),
    ],
)
def test_postmarks_rate_limit_and_outage_wait_for_retry_after(
    api, postmark_channel, postmark, answer, words
):
    postmark.answer(answer)

    delivery = first_attempt(api)

    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert 28 < waits(delivery) <= 30  # the schedule says 0.2 s; Postmark asked for 30
    assert delivery.last_error.startswith(words)
    assert_no_secret(delivery)
    assert again(delivery).status == "sent"
    assert len(postmark.requests) == 2


def test_a_postmark_500_without_retry_after_follows_the_schedule(api, postmark_channel, postmark):
    postmark.answer(FakePostmark.error(0, "Internal server error", 500))

    delivery = first_attempt(api)

    assert delivery.status == "retrying"
    assert 0 < waits(delivery) <= 0.25  # the test schedule's 0.2 s, ± 20 %
    assert delivery.last_error == "Postmark answered 500: Internal server error"


# --- Mailgun (https://documentation.mailgun.com/docs/mailgun/api-reference/#errors) ---------


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (FakeMailgun.forbidden(), "Mailgun answered 401: Forbidden"),
        (
            FakeMailgun.error(
                400, "'to' parameter is not a valid address. please check documentation"
            ),
            "Mailgun answered 400: 'to' parameter is not a valid address.",
        ),
        (FakeMailgun.error(404, "Domain not found: mg.acme.test"), "Mailgun answered 404: Domain"),
    ],
)
def test_mailguns_refusals_fail_at_once_naming_the_reason(
    api, mailgun_channel, mailgun, answer, cause
):
    mailgun.answer(answer)

    assert_failed_at_once(first_attempt(api), cause)


@pytest.mark.parametrize(
    "answer",
    [
        FakeMailgun.error(429, "Too many requests", **{"Retry-After": "30"}),
        Canned(500, "Internal Server Error", headers={"Retry-After": "30"}),
    ],
)
def test_mailguns_rate_limit_and_outage_wait_for_retry_after(api, mailgun_channel, mailgun, answer):
    mailgun.answer(answer)

    delivery = first_attempt(api)

    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert 28 < waits(delivery) <= 30
    assert_no_secret(delivery)
    assert again(delivery).status == "sent"


def test_an_eu_mailgun_account_is_sent_to_the_eu_api(account, api, settings):
    from channels_app.integrations.mailgun.provider import MailgunProvider
    from tests.fakes_email import MAILGUN_CONFIG

    settings.ONEPING_MAILGUN_API_URL = ""
    provider = MailgunProvider()

    assert provider.api_url({**MAILGUN_CONFIG, "region": "eu"}) == ("https://api.eu.mailgun.net/v3")
    assert provider.api_url(MAILGUN_CONFIG) == "https://api.mailgun.net/v3"


# --- Resend (https://resend.com/docs/api-reference/errors) ---------------------------------


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (
            FakeResend.error(
                422,
                "validation_error",
                "Invalid `to` field. The email address needs to follow the "
                "`email@example.com` or `Name <email@example.com>` format.",
            ),
            "Resend answered 422: Invalid `to` field.",
        ),
        (
            FakeResend.error(
                403,
                "validation_error",
                "The mg.acme.test domain is not verified. Please, add and verify your domain on https://resend.com/domains",
            ),
            "Resend answered 403: The mg.acme.test domain is not verified.",
        ),
        (
            FakeResend.error(
                401, "missing_api_key", "Missing API key in the authorization header."
            ),
            "Resend answered 401: Missing API key",
        ),
        (
            FakeResend.error(403, "invalid_api_key", "API key is invalid"),
            "Resend answered 403: API key is invalid",
        ),
    ],
)
def test_resends_refusals_fail_at_once_naming_the_reason(
    api, resend_channel, resend, answer, cause
):
    resend.answer(answer)

    assert_failed_at_once(first_attempt(api), cause)


@pytest.mark.parametrize(
    "answer",
    [
        FakeResend.error(
            429,
            "rate_limit_exceeded",
            "Too many requests. You can only make 2 requests per second.",
            **{"Retry-After": "30"},
        ),
        FakeResend.error(
            500, "application_error", "An unexpected error occurred.", **{"Retry-After": "30"}
        ),
    ],
)
def test_resends_rate_limit_and_outage_wait_for_retry_after(api, resend_channel, resend, answer):
    resend.answer(answer)

    delivery = first_attempt(api)

    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    assert 28 < waits(delivery) <= 30
    assert_no_secret(delivery)
    assert again(delivery).status == "sent"


def test_a_timeout_is_transient_and_names_only_the_host(
    api, resend_channel, resend, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": (1.0, 0.3)}
    resend.answer(Canned(200, {"id": "late"}, delay=1.0))

    delivery = first_attempt(api)

    assert delivery.status == "retrying"
    host = resend.url.removeprefix("http://")
    assert (
        delivery.last_error
        == f"Could not reach Resend's API: timed out waiting for {host} to answer."
    )
    assert_no_secret(delivery, caplog.text)


# --- Not the platform's mail ---------------------------------------------------------------


def test_an_unverified_owners_provider_channel_sends_and_tests_anywhere(
    api, owner, postmark_channel, postmark
):
    """The platform's mail rules (channels_app/platform_mail.py) are about oneping's own
    domain; a provider sends from the customer's."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=owner).update(verified=False)

    assert first_attempt(api).status == "sent"
    tested = api.post_json(
        f"/api/v1/channels/{postmark_channel.pk}/test", {"recipient": "someone@else.test"}
    )
    assert tested.status_code == 202, tested.content
    assert postmark.wait_for(1)[0].json()["To"] == TO
