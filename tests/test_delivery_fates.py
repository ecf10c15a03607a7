"""Fallbacks wait for the fate (issue #16): an SMS or WhatsApp delivery that reached "sent"
keeps its message's fallbacks on standby until the provider reports delivered, read or
failed, or ONEPING_FALLBACK_WAIT_SECONDS pass. Sent through /send, with the providers'
send APIs faked on loopback, and reports through the live callback route."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from channels_app import delivery as delivery_service
from channels_app import fates
from channels_app.callbacks import processing
from channels_app.models import Contact, Delivery, Message, ProviderReport
from tests.callback_helpers import (
    PUBLIC_URL,
    meta_status,
    meta_statuses,
    post_meta,
    post_twilio,
    twilio_status,
)
from tests.conftest import send, wait_until
from tests.fakes_phones import APP_SECRET, AUTH_TOKEN, PHONE_NUMBER_ID, TO


@pytest.fixture
def phones(account, channels, sms_channel, whatsapp_meta_channel, twilio, meta, public_url):
    """SMS (Twilio) and WhatsApp (Meta) channels next to the others (email on the SMTP
    fake), and a contact with a phone number and an email address."""
    Contact.objects.create(
        account=account,
        identifier="jane",
        addresses={"sms": TO, "whatsapp": TO, "email": "jane@example.com"},
    )
    return {**channels, "sms": sms_channel, "whatsapp": whatsapp_meta_channel}


def sms_with_email_fallback(api) -> tuple[Delivery, Delivery]:
    accepted = send(
        api, "Your code is 123456", channels=["sms"], fallback_channels=["email"], recipient="jane"
    )
    sms_id, email_id = (d["id"] for d in accepted["deliveries"])
    return Delivery.objects.get(pk=sms_id), Delivery.objects.get(pk=email_id)


def test_a_sent_sms_keeps_its_fallback_on_standby_and_the_message_processing(api, phones, twilio):
    sms, email = sms_with_email_fallback(api)

    delivery_service.attempt(sms.pk)

    sms.refresh_from_db()
    assert sms.status == "sent"
    assert sms.provider_message_id.startswith("SM")
    assert sms.fate_due_at is not None
    assert Delivery.objects.get(pk=email.pk).status == "standby"
    assert Message.objects.get().status == "processing"
    # Twilio was told where to report, on the public URL.
    [request] = twilio.requests
    form = parse_qs(request.body.decode())
    callback = f"{PUBLIC_URL}/hooks/providers/twilio/{phones['sms'].callback_token}/"
    assert form["StatusCallback"] == [callback]


def test_a_failed_report_starts_the_email_fallback(api, phones, smtp, celery_worker):
    sms, email = sms_with_email_fallback(api)
    wait_until(lambda: Delivery.objects.get(pk=sms.pk).status == "sent")
    sid = Delivery.objects.get(pk=sms.pk).provider_message_id

    response = post_twilio(
        phones["sms"], twilio_status(sid, "undelivered", "30005"), auth_token=AUTH_TOKEN
    )

    assert response.status_code == 200
    wait_until(lambda: Delivery.objects.get(pk=email.pk).status == "sent")
    [mail] = smtp.wait_for(1)
    assert "Your code is 123456" in mail["data"]
    failed = Delivery.objects.get(pk=sms.pk)
    assert failed.status == "failed"
    assert "30005" in failed.last_error
    email_steps = [step.detail for step in Delivery.objects.get(pk=email.pk).timeline.all()]
    assert "fallback: sms failed" in email_steps
    wait_until(lambda: Message.objects.get().status == "partially_failed")


def test_a_delivered_report_skips_the_fallback(api, phones, smtp):
    sms, email = sms_with_email_fallback(api)
    delivery_service.attempt(sms.pk)
    sid = Delivery.objects.get(pk=sms.pk).provider_message_id

    post_twilio(phones["sms"], twilio_status(sid, "delivered"), auth_token=AUTH_TOKEN)
    processing.apply_now(ProviderReport.objects.get().pk)

    assert Delivery.objects.get(pk=sms.pk).status == "delivered"
    assert Delivery.objects.get(pk=email.pk).status == "skipped"
    assert Message.objects.get().status == "delivered"
    assert smtp.messages == []


def test_after_the_wait_without_a_report_the_fallback_is_skipped(api, phones, settings, smtp):
    settings.ONEPING_FALLBACK_WAIT_SECONDS = 0.2
    sms, email = sms_with_email_fallback(api)
    delivery_service.attempt(sms.pk)
    assert Delivery.objects.get(pk=email.pk).status == "standby"

    # Beat's task, run until the wait is over.
    wait_until(fates.settle_overdue)

    assert Delivery.objects.get(pk=email.pk).status == "skipped"
    settled = Delivery.objects.get(pk=sms.pk)
    assert (settled.status, settled.fate_due_at) == ("sent", None)
    assert "no report from the provider within" in settled.timeline.last().detail
    assert Message.objects.get().status == "delivered"
    assert smtp.messages == []


def test_a_report_after_the_wait_still_moves_the_delivery(api, phones):
    sms, _ = sms_with_email_fallback(api)
    delivery_service.attempt(sms.pk)
    Delivery.objects.filter(pk=sms.pk).update(fate_due_at=timezone.now() - timedelta(seconds=1))
    assert fates.settle_overdue() == 1
    sid = Delivery.objects.get(pk=sms.pk).provider_message_id

    post_twilio(phones["sms"], twilio_status(sid, "delivered"), auth_token=AUTH_TOKEN)
    processing.apply_now(ProviderReport.objects.get().pk)

    assert Delivery.objects.get(pk=sms.pk).status == "delivered"
    assert Message.objects.get().status == "delivered"


def test_message_read_reaches_a_webhook_receiver(api, phones, receiver, celery_worker):
    endpoint = api.post_json(
        "/api/v1/webhook-endpoints",
        {"url": f"{receiver.url}/hooks", "event_types": ["message.read"]},
    )
    assert endpoint.status_code == 201, endpoint.content
    accepted = send(api, "See you at 6", channels=["whatsapp"], recipient="jane")
    delivery_id = accepted["deliveries"][0]["id"]
    wait_until(lambda: Delivery.objects.get(pk=delivery_id).status == "sent")
    wamid = Delivery.objects.get(pk=delivery_id).provider_message_id
    assert wamid.startswith("wamid.")

    body = meta_statuses(PHONE_NUMBER_ID, meta_status(wamid, "read"))
    response = post_meta(phones["whatsapp"], body, app_secret=APP_SECRET)

    assert response.status_code == 200
    [request] = receiver.wait_for(1)
    event = json.loads(request.body)
    assert event["event"] == "message.read"
    assert event["data"]["delivery_id"] == delivery_id
    assert event["data"]["status"] == "read"
    assert event["data"]["provider_message_id"] == wamid
    wait_until(lambda: Message.objects.get().status == "delivered")


def test_the_read_event_is_offered_to_endpoints(api):
    ok = api.post_json(
        "/api/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/x", "event_types": ["message.read"]},
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["event_types"] == ["message.read"]


def test_beat_runs_the_report_sweep_and_the_fate_wait(settings):
    from oneping.celery import app

    for entry in ("report-sweep", "fate-wait"):
        assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in app.tasks
    assert settings.CELERY_TASK_ROUTES["channels_app.apply_reports"] == {"queue": "inbound"}
