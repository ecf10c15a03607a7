"""Issue #16's loop closed, both halves together, through a real worker: /send → the
provider's send API (loopback fakes, tests/fakes_phones.py) told where to report → the
provider's signed status callback on the live route → the delivery's fate → the customer's
webhook; and a failure report starting the fallback."""

import json

import pytest

from channels_app.models import Delivery, Message
from tests.callback_helpers import (
    PUBLIC_URL,
    meta_status,
    meta_statuses,
    post_meta,
    post_twilio,
    twilio_status,
)
from tests.conftest import email_config, send, wait_until
from tests.fakes_phones import APP_SECRET, AUTH_TOKEN, PHONE_NUMBER_ID, TO, form_of

pytestmark = pytest.mark.usefixtures("celery_worker")


def subscribe(api, receiver, *event_types: str) -> None:
    answer = api.post_json(
        "/api/v1/webhook-endpoints",
        {"url": f"{receiver.url}/hooks", "event_types": list(event_types)},
    )
    assert answer.status_code == 201, answer.content


def status_of(delivery_id: str) -> str:
    return Delivery.objects.get(pk=delivery_id).status


def events(receiver, count: int) -> list[dict]:
    return [json.loads(request.body) for request in receiver.wait_for(count)]


def test_an_sms_reported_delivered_by_twilio_reaches_the_customers_webhook(
    api, public_url, sms_channel, twilio, receiver
):
    subscribe(api, receiver, "message.sent", "message.delivered")
    accepted = send(api, "Your code is 482913", channels=["sms"], recipient=TO)
    delivery_id = accepted["deliveries"][0]["id"]
    wait_until(lambda: status_of(delivery_id) == "sent")

    # The send asked Twilio to report to this channel's callback URL, on the public URL.
    [request] = twilio.requests
    callback = form_of(request)["StatusCallback"]
    assert callback == f"{PUBLIC_URL}/hooks/providers/twilio/{sms_channel.callback_token}/"
    sid = Delivery.objects.get(pk=delivery_id).provider_message_id
    assert sid.startswith("SM")
    # The fate is not known yet: the message waits for it.
    assert Message.objects.get().status == "processing"

    answer = post_twilio(
        sms_channel, twilio_status(sid, "delivered"), auth_token=AUTH_TOKEN, signed_url=callback
    )

    assert answer.status_code == 200
    wait_until(lambda: status_of(delivery_id) == "delivered")
    wait_until(lambda: Message.objects.get().status == "delivered")
    sent, delivered = events(receiver, 2)
    assert (sent["event"], delivered["event"]) == ("message.sent", "message.delivered")
    assert delivered["data"]["delivery_id"] == delivery_id
    assert delivered["data"]["provider_message_id"] == sid


def test_a_forged_twilio_report_changes_nothing(api, public_url, sms_channel, twilio):
    accepted = send(api, "Your code is 482913", channels=["sms"], recipient=TO)
    delivery_id = accepted["deliveries"][0]["id"]
    wait_until(lambda: status_of(delivery_id) == "sent")
    sid = Delivery.objects.get(pk=delivery_id).provider_message_id

    answer = post_twilio(sms_channel, twilio_status(sid, "delivered"), auth_token="not-the-token")

    assert answer.status_code == 403
    assert status_of(delivery_id) == "sent"
    assert not Delivery.objects.get(pk=delivery_id).timeline.filter(status="delivered").exists()


def test_whatsapp_reports_out_of_order_end_at_read(
    api, public_url, whatsapp_meta_channel, meta, receiver
):
    subscribe(api, receiver, "message.read")
    template = {"name": "order_shipped", "language": "en_US", "variables": ["Jane", "#42"]}
    accepted = send(
        api,
        "Hi Jane, order #42 has shipped",
        channels=["whatsapp"],
        recipient=TO,
        channel_options={"whatsapp": {"template": template}},
    )
    delivery_id = accepted["deliveries"][0]["id"]
    wait_until(lambda: status_of(delivery_id) == "sent")
    [request] = meta.requests
    assert request.json()["type"] == "template"
    wamid = Delivery.objects.get(pk=delivery_id).provider_message_id

    # Read arrives before delivered (Meta does not promise an order), then a duplicate.
    read = meta_statuses(PHONE_NUMBER_ID, meta_status(wamid, "read", 1750000060))
    delivered = meta_statuses(PHONE_NUMBER_ID, meta_status(wamid, "delivered", 1750000030))
    for body in (read, delivered, read):
        assert post_meta(whatsapp_meta_channel, body, app_secret=APP_SECRET).status_code == 200

    wait_until(lambda: status_of(delivery_id) == "read")
    [event] = events(receiver, 1)
    assert event["event"] == "message.read"
    # Each distinct report once in the timeline; the late "delivered" did not undo "read".
    wait_until(
        lambda: (
            [s.status for s in Delivery.objects.get(pk=delivery_id).steps].count("delivered") == 1
        )
    )
    steps = [step.status for step in Delivery.objects.get(pk=delivery_id).steps]
    assert steps.count("read") == 1
    assert status_of(delivery_id) == "read"
    wait_until(lambda: Message.objects.get().status == "delivered")


def test_an_undelivered_whatsapp_report_starts_the_email_fallback(
    api, public_url, whatsapp_twilio_channel, twilio, smtp, account
):
    from channels_app.models import ChannelConfig, Contact

    ChannelConfig.objects.create(account=account, kind="email", config=email_config(smtp))
    Contact.objects.create(
        account=account,
        identifier="jane",
        addresses={"whatsapp": TO, "email": "jane@example.com"},
    )
    accepted = send(
        api, "Your table is ready", channels=["whatsapp"], fallback_channels=["email"],
        recipient="jane",
    )  # fmt: skip
    whatsapp_id, email_id = (d["id"] for d in accepted["deliveries"])
    wait_until(lambda: status_of(whatsapp_id) == "sent")
    assert status_of(email_id) == "standby"  # the fallback waits for WhatsApp's fate
    sid = Delivery.objects.get(pk=whatsapp_id).provider_message_id

    # Twilio: the user had not written in the last 24 hours (63016).
    report = twilio_status(sid, "undelivered", "63016")
    answer = post_twilio(whatsapp_twilio_channel, report, auth_token=AUTH_TOKEN)

    assert answer.status_code == 200
    [mail] = smtp.wait_for(1)
    assert "Your table is ready" in mail["data"]
    failed = Delivery.objects.get(pk=whatsapp_id)
    assert failed.status == "failed"
    assert "63016" in failed.last_error and "template" in failed.last_error
    wait_until(lambda: status_of(email_id) == "sent")
    wait_until(lambda: Message.objects.get().status == "partially_failed")
