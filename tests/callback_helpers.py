"""Signing and posting providers' status callbacks as the providers do, computed here from
their documentation (not with the code under test): Twilio's X-Twilio-Signature and Meta's
X-Hub-Signature-256; and a delivery the provider accepted, for them to report on."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.test import Client
from django.utils import timezone

from channels_app.models import ChannelConfig, Delivery, Message
from tests.fakes_phones import ACCOUNT_SID, FROM, TO

PUBLIC_URL = "https://oneping.example.com"


def sent_delivery(
    channel: ChannelConfig, provider_message_id: str, address: str = TO, **fields
) -> Delivery:
    """A message whose delivery on `channel` the provider accepted: "sent", awaiting its
    fate, as channels_app.outcomes leaves it."""
    message = Message.objects.create(
        account=channel.account,
        recipient=address,
        body="Your code is 123456",
        channels=[channel.kind],
        status=Message.Status.PROCESSING,
    )
    now = timezone.now()
    return Delivery.objects.create(
        message=message,
        account=channel.account,
        channel=channel.kind,
        address=address,
        target=address,
        status=Delivery.Status.SENT,
        attempts=1,
        max_attempts=3,
        provider_message_id=provider_message_id,
        fate_due_at=now + timedelta(hours=1),
        **fields,
    )


def reloaded(delivery: Delivery) -> Delivery:
    return Delivery.objects.get(pk=delivery.pk)


def timeline(delivery: Delivery) -> list[tuple[str, str]]:
    return [(step.status, step.detail) for step in reloaded(delivery).timeline.all()]


def twilio_signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """base64(HMAC-SHA1(auth token, URL + each POST field's name and value, sorted by name)).
    https://www.twilio.com/docs/usage/security#validating-requests"""
    signed = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def meta_signature(body: bytes, app_secret: str) -> str:
    """sha256=<hex HMAC-SHA256(app secret, raw body)>.
    https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads"""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def twilio_status(sid: str, status: str, error_code: str = "", **more: str) -> dict[str, str]:
    """The form Twilio POSTs to a message's StatusCallback.
    https://www.twilio.com/docs/messaging/guides/track-outbound-message-status"""
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": FROM,
        "To": TO,
        "ApiVersion": "2010-04-01",
        **more,
    }
    if error_code:
        form["ErrorCode"] = error_code
    return form


def post_twilio(
    channel: ChannelConfig,
    form: dict[str, str],
    *,
    auth_token: str,
    signed_url: str | None = None,
    signature: str | None = None,
    **headers: str,
):
    """POST `form` to the channel's Twilio callback path, signed over `signed_url` (the
    public URL of that path unless told)."""
    path = channel.callback_path("twilio")
    url = signed_url or PUBLIC_URL + path
    if signature is None:
        signature = twilio_signature(url, form, auth_token)
    if signature:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return Client().post(
        path, urlencode(form), content_type="application/x-www-form-urlencoded", **headers
    )


def meta_statuses(phone_number_id: str, *statuses: dict[str, Any], **value: Any) -> dict:
    """A WhatsApp Cloud API webhook body with these statuses[] (and any other value fields).
    https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples"""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": phone_number_id,
                            },
                            "statuses": list(statuses),
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def meta_status(message_id: str, status: str, timestamp: int = 1750000000, **more: Any) -> dict:
    return {
        "id": message_id,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": TO.removeprefix("+"),
        **more,
    }


def post_meta(channel: ChannelConfig, body: dict, *, app_secret: str, signature: str | None = None):
    raw = json.dumps(body).encode()
    headers = {}
    signature = meta_signature(raw, app_secret) if signature is None else signature
    if signature:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return Client().post(
        channel.callback_path("whatsapp"), raw, content_type="application/json", **headers
    )
