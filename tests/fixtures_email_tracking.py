"""Fixtures for email providers' tracking webhooks (signed posts in each provider's shape).

Payloads are tests/fixtures/email_tracking/<provider>/*.json, in each provider's documented
shape (and anymail's own tests'). Posts are signed here from the providers' documentation,
not with the code under test: Postmark's HTTP basic auth taken from the channel's
tracking_webhook_url as the API shows it, Mailgun's HMAC-SHA256 of timestamp + token, and
Resend's Svix signature made with the `standardwebhooks` library.
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

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from channels_app import channels
from channels_app.models import ChannelConfig

FIXTURES = Path(__file__).parent / "fixtures" / "email_tracking"

# The provider message ids the fixtures name, as each send's anymail_status gave them
# (Mailgun's with its angle brackets: anymail adds them to the webhook's message-id too).
POSTMARK_MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
MAILGUN_MESSAGE_ID = "<20261207132137.1.DF5966851B4BAA99@mg.acme.test>"
RESEND_MESSAGE_ID = "4ef9a417-02e9-4d39-ad75-9611e0fcc33c"
RECIPIENT = "jane@example.com"

MAILGUN_SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-signing-secret-of-acme-42").decode()

POSTMARK_CONFIG = {
    "provider": "postmark",
    "server_token": "b1a5e6f0-postmark-server-token-0001",
    "from_email": "alerts@acme.test",
    "track_opens": True,
    "track_clicks": True,
}
MAILGUN_CONFIG = {
    "provider": "mailgun",
    "api_key": "mailgun-api-key-of-acme-0000000000000",
    "sender_domain": "mg.acme.test",
    "region": "us",
    "webhook_signing_key": MAILGUN_SIGNING_KEY,
    "from_email": "alerts@mg.acme.test",
    "track_opens": True,
    "track_clicks": True,
}
RESEND_CONFIG = {
    "provider": "resend",
    "api_key": "re_acme_0000000000000000000000000",
    "webhook_secret": RESEND_SECRET,
    "from_email": "alerts@acme.test",
    "track_opens": True,
    "track_clicks": True,
}
CONFIGS = {"postmark": POSTMARK_CONFIG, "mailgun": MAILGUN_CONFIG, "resend": RESEND_CONFIG}


def payload(provider: str, name: str) -> dict[str, Any]:
    """A fixture's body (a fresh copy each time)."""
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())


def email_channel_of(account, provider: str, **config: Any) -> ChannelConfig:
    return ChannelConfig.objects.create(
        account=account, kind="email", config={**CONFIGS[provider], **config}
    )


@pytest.fixture
def postmark_channel(account) -> ChannelConfig:
    return email_channel_of(account, "postmark")


@pytest.fixture
def mailgun_channel(account) -> ChannelConfig:
    return email_channel_of(account, "mailgun")


@pytest.fixture
def resend_channel(account) -> ChannelConfig:
    return email_channel_of(account, "resend")


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
