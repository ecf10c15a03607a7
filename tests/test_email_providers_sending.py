"""Email through Postmark, Mailgun and Resend with a real worker, to loopback fakes of their
send APIs (tests/fakes_email.py): what each provider receives (the account's own
credentials, sender, subject, text and HTML parts, tracking options), the provider's id
kept as the delivery's, and a permanent and a transient answer of each (every documented
answer, one attempt at a time: tests/test_email_providers_answers.py)."""

import json
import logging

import pytest

from channels_app.models import ChannelConfig, Delivery
from tests.conftest import send, wait_until
from tests.fakes import Canned, basic_auth
from tests.fakes_email import (
    FROM,
    MAILGUN_DOMAIN,
    MAILGUN_KEY,
    POSTMARK_CONFIG,
    POSTMARK_TOKEN,
    RESEND_KEY,
    SECRETS,
    TO,
    FakePostmark,
    FakeResend,
    form_of,
)
from tests.fixtures_own_tracking import parts_of, tracked_channel
from webhooks.models import Event

pytestmark = pytest.mark.usefixtures("celery_worker")

BODY = "Your order **#42** has shipped: [track it](https://track.example/42)"
HTML = (
    '<p>Your order <strong>#42</strong> has shipped: <a href="https://track.example/42" '
    'rel="noopener noreferrer">track it</a></p>'
)


def send_email(api, message: str = BODY, **fields) -> str:
    """The delivery id of an accepted email to TO."""
    fields.setdefault("subject", "Order #42")
    body = send(api, message, channels=["email"], recipient=TO, **fields)
    return body["deliveries"][0]["id"]


def settled(delivery_id: str, *statuses: str) -> Delivery:
    """The delivery once it reaches one of `statuses` ("sent" or a final one unless told)."""
    wanted = set(statuses) or {"sent", *Delivery.FINAL}
    return wait_until(lambda: Delivery.objects.filter(pk=delivery_id, status__in=wanted).first())


def track(channel: ChannelConfig, **flags: bool) -> None:
    channel.config = {**channel.config, **flags}
    channel.save()


def assert_no_secret(delivery: Delivery, logged: str = "") -> None:
    events = "".join(Event.objects.filter(delivery=delivery).values_list("body", flat=True))
    if delivery.status != "retrying":
        assert f'"status":"{delivery.status}"' in events  # the events are there, and clean
    shown = delivery.last_error + "".join(step.detail for step in delivery.steps)
    assert not [secret for secret in SECRETS if secret in shown + events + logged]


# --- What each provider receives ---------------------------------------------------------


def test_postmark_gets_json_with_the_server_token_both_parts_and_its_tracking_fields(
    api, postmark_channel, postmark
):
    track(postmark_channel, track_opens=True, track_clicks=True)
    message_id = "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
    postmark.answer(
        Canned(
            200,
            {
                "To": TO,
                "SubmittedAt": "2026-12-07T12:00:00.0000000-05:00",
                "MessageID": message_id,
                "ErrorCode": 0,
                "Message": "OK",
            },
        )
    )

    delivery = settled(send_email(api))

    [request] = postmark.requests
    assert request.path == "/email"
    assert request.headers["X-Postmark-Server-Token"] == POSTMARK_TOKEN
    sent = request.json()
    assert (sent["From"], sent["To"], sent["Subject"]) == (FROM, TO, "Order #42")
    assert sent["TextBody"] == BODY
    assert sent["HtmlBody"] == HTML
    # Postmark's names: https://postmarkapp.com/developer/api/email-api#send-a-single-email
    assert (sent["TrackOpens"], sent["TrackLinks"]) == (True, "HtmlAndText")
    assert sent["Metadata"] == {"oneping_delivery": delivery.pk}
    # The id Postmark's webhooks name the message by (anymail's event.message_id).
    assert (delivery.status, delivery.provider_message_id) == ("sent", message_id)


def test_a_provider_tracks_for_itself_and_only_smtp_mail_gets_onepings_pixel_and_links(
    api, postmark_channel, postmark, smtp, public_url, make_account, make_api_client
):
    """The same flags, two ways: Postmark is asked to track (its own pixel and links, its
    own webhooks) and gets the HTML untouched; an SMTP channel's email carries oneping's
    pixel and links through /t/c/ (ONEPING_PUBLIC_URL is set for both)."""
    track(postmark_channel, track_opens=True, track_clicks=True)
    other = make_account("Smtp Co")
    tracked_channel(other, smtp)  # track_opens and track_clicks on

    settled(send_email(api))
    send(make_api_client(other), BODY, channels=["email"], recipient=TO, subject="Order #42")

    sent = postmark.requests[0].json()
    assert (sent["TrackOpens"], sent["TrackLinks"]) == (True, "HtmlAndText")
    assert sent["HtmlBody"] == HTML  # no pixel, the link as written
    assert "/t/" not in sent["HtmlBody"] + sent["TextBody"]
    received = parts_of(smtp.wait_for(1)[0]["data"])
    assert received.pixel.startswith("/t/o/")
    assert [link.split("/t/c/")[0] for link in received.links] == [public_url]
    assert "https://track.example/42" not in received.html


def test_without_tracking_postmark_is_told_not_to_track(api, postmark_channel, postmark):
    settled(send_email(api))

    sent = postmark.requests[0].json()
    assert (sent["TrackOpens"], sent["TrackLinks"]) == (False, "None")


def test_mailgun_gets_a_form_with_basic_auth_on_the_sender_domain(api, mailgun_channel, mailgun):
    track(mailgun_channel, track_opens=True, track_clicks=False)
    mailgun.answer(
        Canned(200, {"id": f"<20261207.1.AB12@{MAILGUN_DOMAIN}>", "message": "Queued. Thank you."})
    )

    delivery = settled(send_email(api))

    [request] = mailgun.requests
    assert request.path == f"/v3/{MAILGUN_DOMAIN}/messages"
    assert basic_auth(request) == ("api", MAILGUN_KEY)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = form_of(request)
    assert (form["from"], form["to"], form["subject"]) == ([FROM], [TO], ["Order #42"])
    assert (form["text"], form["html"]) == ([BODY], [HTML])
    # https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages
    assert (form["o:tracking-opens"], form["o:tracking-clicks"]) == (["yes"], ["no"])
    assert form["v:oneping_delivery"] == [delivery.pk]
    # Kept with its angle brackets: Mailgun's webhooks name it so (anymail adds them).
    assert delivery.status == "sent"
    assert delivery.provider_message_id == f"<20261207.1.AB12@{MAILGUN_DOMAIN}>"


def test_resend_gets_json_with_a_bearer_key_and_no_tracking_fields(api, resend_channel, resend):
    resend.answer(Canned(200, {"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}))

    delivery = settled(send_email(api))

    [request] = resend.requests
    assert request.path == "/emails"
    assert request.headers["Authorization"] == f"Bearer {RESEND_KEY}"
    sent = request.json()
    assert (sent["from"], sent["to"], sent["subject"]) == (FROM, [TO], "Order #42")
    assert (sent["text"], sent["html"]) == (BODY, HTML)
    # Resend tracks per domain, not per email: nothing to send (anymail sends nothing).
    assert not {key for key in sent if "track" in key.lower()}
    assert json.loads(sent["headers"]["X-Metadata"]) == {"oneping_delivery": delivery.pk}
    assert delivery.status == "sent"
    assert delivery.provider_message_id == "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"


def test_each_account_sends_with_its_own_token_in_one_worker(
    api, postmark_channel, postmark, make_account, make_api_client
):
    other = make_account("Other")
    other_token = "99999999-8888-7777-6666-555555555555"
    ChannelConfig.objects.create(
        account=other, kind="email", config={**POSTMARK_CONFIG, "server_token": other_token}
    )
    other_api = make_api_client(other)

    first = settled(send_email(api, "From Acme"))
    second = settled(send_email(other_api, "From Other"))

    tokens = {
        request.json()["TextBody"]: request.headers["X-Postmark-Server-Token"]
        for request in postmark.wait_for(2)
    }
    assert tokens == {"From Acme": POSTMARK_TOKEN, "From Other": other_token}
    assert first.status == second.status == "sent"


def test_the_subject_defaults_to_the_first_line(api, postmark_channel, postmark):
    body = send(api, "Disk full\nserver db-1 at 98 %", channels=["email"], recipient=TO)

    settled(body["deliveries"][0]["id"])

    sent = postmark.requests[0].json()
    assert sent["Subject"] == "Disk full"
    assert sent["TextBody"] == "Disk full\nserver db-1 at 98 %"


# --- Answers through the worker ----------------------------------------------------------


def test_an_inactive_recipient_fails_at_once_naming_postmarks_reason(
    api, postmark_channel, postmark, caplog
):
    caplog.set_level(logging.DEBUG)
    postmark.answer(FakePostmark.inactive())

    delivery = settled(send_email(api))

    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith(
        "Postmark refused the recipient: You tried to send to a recipient that has been "
        "marked as inactive."
    )
    assert delivery.provider_message_id == ""
    assert_no_secret(delivery, caplog.text)


def test_a_bad_server_token_fails_at_once(api, postmark_channel, postmark, caplog):
    caplog.set_level(logging.DEBUG)
    postmark.answer(FakePostmark.bad_token())

    delivery = settled(send_email(api))

    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == (
        "Postmark answered 401: Request does not contain a valid Server token."
    )
    assert_no_secret(delivery, caplog.text)


def test_resends_rate_limit_is_retried_no_sooner_than_its_retry_after(
    api, resend_channel, resend, caplog
):
    caplog.set_level(logging.DEBUG)
    resend.answer(
        FakeResend.error(
            429,
            "rate_limit_exceeded",
            "Too many requests. You can only make 2 requests per second.",
            **{"Retry-After": "1"},
        )
    )

    delivery = settled(send_email(api))

    assert (delivery.status, delivery.attempts) == ("sent", 2)
    steps = delivery.steps
    assert [step.status for step in steps] == ["queued", "sending", "retrying", "sending", "sent"]
    assert "Resend answered 429: Too many requests." in steps[2].detail
    # The schedule says 0.2 s; Resend asked for 1 s.
    assert (steps[3].at - steps[2].at).total_seconds() >= 0.95
    assert len(resend.requests) == 2
    assert_no_secret(delivery, caplog.text)


def test_a_mailgun_outage_is_retried(api, mailgun_channel, mailgun):
    mailgun.answer(Canned(503, "Service Unavailable"))

    delivery = settled(send_email(api))

    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert "Mailgun answered 503: Service Unavailable" in delivery.steps[2].detail


def test_an_unreachable_api_is_retried_naming_the_host_only(api, resend_channel, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.ONEPING_RESEND_API_URL = "http://127.0.0.1:9/"  # discard: nobody listens

    delivery = settled(send_email(api), "retrying")

    assert delivery.last_error.startswith("Could not reach Resend's API: ")
    assert "127.0.0.1:9" in delivery.last_error
    assert_no_secret(delivery, caplog.text)
