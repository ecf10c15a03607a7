"""Fixtures for email providers' tracking webhooks (signed posts in each provider's shape).

Payloads are tests/fixtures/email_tracking/<provider>/*.json, in each provider's documented
shape (and anymail's own tests'). Posts are signed here from the providers' documentation,
not with the code under test: Postmark's HTTP basic auth taken from the channel's
tracking_webhook_url as the API shows it, Mailgun's HMAC-SHA256 of timestamp + token, and
Resend's Svix signature made with the `standardwebhooks` library. The channels and their
secrets are tests/fixtures_email_providers.py's and tests/fakes_email.py's.
"""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.test import Client
from standardwebhooks.webhooks import Webhook

from channels_app import channels
from channels_app.models import ChannelConfig, Delivery
from tests.conftest import send, wait_until
from tests.fakes_email import MAILGUN_SIGNING_KEY, TO
from tests.fakes_email import RESEND_WEBHOOK_SECRET as RESEND_SECRET

FIXTURES = Path(__file__).parent / "fixtures" / "email_tracking"

# The provider message ids the fixtures name, as each send's anymail_status gave them
# (Mailgun's with its angle brackets: anymail adds them to the webhook's message-id too).
# Tests of a real send post the fixture `naming` the id that send stored instead.
POSTMARK_MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
MAILGUN_MESSAGE_ID = "<20261207132137.1.DF5966851B4BAA99@mg.acme.test>"
RESEND_MESSAGE_ID = "4ef9a417-02e9-4d39-ad75-9611e0fcc33c"
RECIPIENT = TO  # the fixtures' recipient, and the fake providers' default


def payload(provider: str, name: str) -> dict[str, Any]:
    """A fixture's body (a fresh copy each time)."""
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())


def naming(provider: str, body: dict[str, Any], message_id: str) -> dict[str, Any]:
    """`body` about the message `message_id` names (a delivery's provider_message_id, as
    the send stored it), where each provider's webhook says which message it is about."""
    if provider == "postmark":
        body["MessageID"] = message_id
    elif provider == "mailgun":
        # The header without the angle brackets anymail puts back.
        body["event-data"]["message"]["headers"]["message-id"] = message_id.strip("<>")
    else:
        body["data"]["email_id"] = message_id
    return body


def payload_about(provider: str, name: str, delivery: Delivery) -> dict[str, Any]:
    """A fixture's body about `delivery` (the message its send handed to the provider)."""
    return naming(provider, payload(provider, name), delivery.provider_message_id)


def sent_email(
    api, message: str = "Your order **#42** shipped", recipient: str = RECIPIENT
) -> Delivery:
    """An email sent through /api/v1/send and handed by the worker (`celery_worker`) to the
    account's provider channel (its fake must be serving): the delivery once "sent", with
    the provider message id the provider's answer gave."""
    accepted = send(api, message, channels=["email"], recipient=recipient, subject="Order #42")
    pk = accepted["deliveries"][0]["id"]
    sent = Delivery.objects.filter(pk=pk, status="sent").exclude(provider_message_id="")
    return wait_until(sent.first)


# --- Postmark: HTTP basic auth in the URL ------------------------------------------------


def postmark_credentials(channel: ChannelConfig) -> tuple[str, str]:
    """The user and password inside the channel's tracking webhook URL."""
    url = urlsplit(channels.tracking_webhook_url(channel) or "")
    assert url.username and url.password, url
    return url.username, url.password


def post_postmark(
    channel: ChannelConfig, body: dict[str, Any], credentials: tuple[str, str] | None = None
):
    """POST as Postmark does: JSON, with the URL's credentials as HTTP basic auth
    (https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-your-webhook);
    `credentials=("", "")` sends none."""
    user, password = credentials if credentials is not None else postmark_credentials(channel)
    headers = {}
    if user or password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["HTTP_AUTHORIZATION"] = f"Basic {token}"
    return Client().post(
        channel.callback_path("postmark"), json.dumps(body), "application/json", **headers
    )


# --- Mailgun: HMAC-SHA256(signing key, timestamp + token) --------------------------------


def mailgun_signed(body: dict[str, Any], key: str = MAILGUN_SIGNING_KEY) -> dict[str, Any]:
    """The body with its signature block completed, as Mailgun signs it.
    https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks"""
    block = body["signature"]
    message = f"{block['timestamp']}{block['token']}".encode()
    block["signature"] = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    return body


def post_mailgun(channel: ChannelConfig, body: dict[str, Any], key: str = MAILGUN_SIGNING_KEY):
    signed = mailgun_signed(body, key) if key else body
    return Client().post(channel.callback_path("mailgun"), json.dumps(signed), "application/json")


# --- Resend: Svix (Standard Webhooks) signature -------------------------------------------


def post_resend(
    channel: ChannelConfig,
    body: dict[str, Any],
    secret: str | None = RESEND_SECRET,
    event_id: str | None = None,
    signed_body: dict[str, Any] | None = None,
):
    """POST as Resend does: svix-id, svix-timestamp and svix-signature headers over the raw
    body (https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests), signed with
    the standardwebhooks library; `secret=None` sends no signature, `signed_body` signs
    another body than the one posted."""
    raw = json.dumps(body)
    event_id = event_id or f"msg_{uuid.uuid4().hex}"
    headers = {"HTTP_SVIX_ID": event_id}
    if secret is not None:
        now = datetime.now(tz=UTC).replace(microsecond=0)
        over = json.dumps(signed_body) if signed_body is not None else raw
        signature = Webhook(secret).sign(event_id, now, over)
        headers |= {
            "HTTP_SVIX_TIMESTAMP": str(int(now.timestamp())),
            "HTTP_SVIX_SIGNATURE": signature,
        }
    return Client().post(channel.callback_path("resend"), raw, "application/json", **headers)
