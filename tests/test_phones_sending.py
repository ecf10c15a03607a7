"""SMS and WhatsApp sends through a real worker to loopback fakes of Twilio's Messages API
and Meta's WhatsApp Cloud API (tests/fakes_phones.py): what each provider receives, and
a permanent and a transient answer of each (every documented answer, one attempt at a
time: tests/test_phones_answers.py)."""

import json

import pytest

from channels_app.models import Delivery
from tests.callback_helpers import PUBLIC_URL
from tests.conftest import send, wait_until
from tests.fakes import basic_auth
from tests.fakes_phones import (
    ACCESS_TOKEN,
    ACCOUNT_SID,
    AUTH_TOKEN,
    CONTENT_SID,
    FROM,
    PHONE_NUMBER_ID,
    SECRETS,
    TO,
    FakeMeta,
    FakeTwilio,
    form_of,
)

pytestmark = pytest.mark.usefixtures("celery_worker")


def send_on(api, channel: str, message: str = "Your code is 123456", **fields) -> str:
    """The delivery id of an accepted send on `channel` to TO."""
    body = send(api, message, channels=[channel], recipient=TO, **fields)
    return body["deliveries"][0]["id"]


def settled(delivery_id: str, *statuses: str) -> Delivery:
    """The delivery once it reaches one of `statuses` (a final one unless told)."""
    wanted = set(statuses) or set(Delivery.FINAL)
    return wait_until(lambda: Delivery.objects.filter(pk=delivery_id, status__in=wanted).first())


def assert_no_secret(delivery: Delivery) -> None:
    shown = delivery.last_error + "".join(step.detail for step in delivery.steps)
    assert not [secret for secret in SECRETS if secret in shown]


# --- SMS: what Twilio receives ------------------------------------------------------------


def test_an_sms_is_a_form_post_to_twilio_with_basic_auth(api, sms_channel, twilio):
    delivery = settled(send_on(api, "sms", "Your code is 123456"))

    [request] = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert basic_auth(request) == (ACCOUNT_SID, AUTH_TOKEN)
    # No ONEPING_PUBLIC_URL: no callback URL is asked for.
    assert form_of(request) == {"To": TO, "From": FROM, "Body": "Your code is 123456"}
    assert delivery.status == "sent"
    assert delivery.provider_message_id.startswith("SM")
    assert delivery.segments == 1
    assert delivery.address == TO


def test_the_status_callback_url_is_sent_when_the_public_url_is_set(
    api, sms_channel, twilio, settings
):
    settings.ONEPING_PUBLIC_URL = PUBLIC_URL

    settled(send_on(api, "sms"))

    form = form_of(twilio.requests[0])
    assert form["StatusCallback"] == (
        f"{PUBLIC_URL}/hooks/providers/twilio/{sms_channel.callback_token}/"
    )


def test_a_contacts_number_and_the_segments_are_stored_and_shown(
    api, sms_channel, twilio, owner_client
):
    api.post_json(
        "/api/v1/contacts", {"identifier": "jane", "addresses": {"sms": "+1 415 555 0142"}}
    )
    text = "a" * 161  # GSM-7: 153 + 8
    body = send(api, text, channels=["sms"], recipient="jane")

    delivery = settled(body["deliveries"][0]["id"])

    assert form_of(twilio.requests[0])["To"] == "+14155550142"
    assert delivery.segments == 2
    shown = api.get(f"/api/v1/messages/{body['id']}").json()
    assert shown["deliveries"][0]["segments"] == 2
    assert shown["deliveries"][0]["address"] == "jane (+14155550142)"
    page = owner_client.get(f"/messages/{body['id']}/").content.decode()
    assert "2 segments" in page


# --- Answers through the worker (every documented one: tests/test_phones_answers.py) ------


def test_a_permanent_twilio_error_ends_the_delivery_naming_the_cause(api, sms_channel, twilio):
    twilio.answer(FakeTwilio.error(21211, f"The 'To' number {TO} is not a valid phone number."))

    delivery = settled(send_on(api, "sms"))

    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "the recipient's phone number is not valid" in delivery.last_error
    assert_no_secret(delivery)


def test_twilios_retry_after_is_honoured_by_the_worker(api, sms_channel, twilio):
    twilio.answer(FakeTwilio.rate_limited(retry_after=1))

    delivery = settled(send_on(api, "sms"))

    assert (delivery.status, delivery.attempts) == ("sent", 2)
    # A wait for the sender's next token after the pause may come between (pacing's own).
    steps = [step for step in delivery.steps if not step.detail.startswith("paced")]
    assert [step.status for step in steps] == ["queued", "sending", "retrying", "sending", "sent"]
    # The schedule says 0.2 s; Twilio asked for 1 s.
    assert (steps[3].at - steps[2].at).total_seconds() >= 0.95


# --- WhatsApp through Twilio --------------------------------------------------------------


def test_a_twilio_content_template_is_sent_instead_of_the_body(
    api, whatsapp_twilio_channel, twilio, settings
):
    settings.ONEPING_PUBLIC_URL = PUBLIC_URL
    template = {"content_sid": CONTENT_SID, "variables": {"1": "Jane", "2": "7 pm"}}
    body = send(
        api,
        "Hi Jane, your table is booked for 7 pm",
        channels=["whatsapp"],
        recipient=TO,
        channel_options={"whatsapp": {"template": template}},
    )

    settled(body["deliveries"][0]["id"])

    form = form_of(twilio.requests[0])
    assert form.pop("ContentSid") == CONTENT_SID
    assert json.loads(form.pop("ContentVariables")) == {"1": "Jane", "2": "7 pm"}
    token = whatsapp_twilio_channel.callback_token
    assert form == {
        "To": f"whatsapp:{TO}",
        "From": f"whatsapp:{FROM}",
        "StatusCallback": f"{PUBLIC_URL}/hooks/providers/twilio/{token}/",
    }
    # The log shows the message as sent to the API.
    shown = api.get(f"/api/v1/messages/{body['id']}").json()
    assert shown["message"] == "Hi Jane, your table is booked for 7 pm"
    assert shown["channel_options"] == {"whatsapp": {"template": template}}


# --- WhatsApp through Meta's Cloud API ----------------------------------------------------


def test_whatsapp_through_meta_posts_a_text_message_with_a_bearer_token(
    api, whatsapp_meta_channel, meta, settings
):
    settings.ONEPING_PUBLIC_URL = PUBLIC_URL  # Meta's callback URL is set in the app, not here

    delivery = settled(send_on(api, "whatsapp", "Your parcel is on its way"))

    [request] = meta.requests
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "Your parcel is on its way"},
    }
    assert delivery.status == "sent"
    assert delivery.provider_message_id.startswith("wamid.")


def test_a_meta_template_is_sent_with_its_body_parameters(
    api, whatsapp_meta_channel, meta, settings
):
    settings.ONEPING_WHATSAPP_API_VERSION = "v22.0"
    template = {"name": "order_shipped", "language": "en_US", "variables": ["Jane", "#42"]}
    options = {"whatsapp": {"template": template}}

    settled(send_on(api, "whatsapp", "Hi Jane, order #42 has shipped", channel_options=options))

    [request] = meta.requests
    assert request.path == f"/v22.0/{PHONE_NUMBER_ID}/messages"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Jane"},
                        {"type": "text", "text": "#42"},
                    ],
                }
            ],
        },
    }


def test_metas_throttling_with_400_is_retried_by_the_worker_after_retry_after(
    api, whatsapp_meta_channel, meta
):
    meta.answer(FakeMeta.throttled(131056, retry_after=1))

    delivery = settled(send_on(api, "whatsapp"))

    assert (delivery.status, delivery.attempts) == ("sent", 2)
    steps = delivery.steps
    assert steps[2].status == "retrying" and "error 131056" in steps[2].detail
    assert (steps[3].at - steps[2].at).total_seconds() >= 0.95


def test_metas_outside_the_window_error_names_the_template_option(api, whatsapp_meta_channel, meta):
    meta.answer(FakeMeta.error(131047, "Re-engagement message"))

    delivery = settled(send_on(api, "whatsapp"))

    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "channel_options.whatsapp.template" in delivery.last_error
    assert_no_secret(delivery)
