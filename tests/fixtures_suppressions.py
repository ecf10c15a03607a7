"""Fixtures for the suppression list: a Postmark send API on loopback, an email channel
sending through it, stored provider reports applied by the reports worker, and rows of the
list itself for the API, dashboard and admin tests.

Until the merge with the email-provider work (its fake Postmark/Mailgun/Resend APIs and its
Postmark tracking webhook), the Postmark fake here answers only the documented success of
POST /email, and a bounce arrives as a stored ProviderReport in the shape Postmark's
webhook handler stores (provider "postmark", anymail's normalised event), enqueued to the
real reports worker.
"""

import uuid
from datetime import UTC, datetime

import pytest

from channels_app.callbacks import processing
from channels_app.callbacks.queueing import enqueue
from channels_app.models import ChannelConfig, Delivery, ProviderReport, Suppression
from tests.conftest import serving
from tests.fakes import Canned, FakeHTTPProvider, Received

POSTMARK_TOKEN = "b1a2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6"
POSTMARK_CONFIG = {
    "provider": "postmark",
    "server_token": POSTMARK_TOKEN,
    "from_email": "alerts@acme.test",
    "track_opens": False,
    "track_clicks": False,
}


class FakePostmark(FakeHTTPProvider):
    """POST /email: 200 with Postmark's documented success body.
    https://postmarkapp.com/developer/api/email-api#send-a-single-email"""

    def __init__(self):
        super().__init__(default=Canned(200))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.status != 200 or canned.body is not None:
            return canned
        return Canned(
            200,
            {
                "To": received.json().get("To", ""),
                "SubmittedAt": datetime.now(UTC).isoformat(),
                "MessageID": str(uuid.uuid4()),
                "ErrorCode": 0,
                "Message": "OK",
            },
        )


@pytest.fixture
def postmark(settings):
    """Postmark's send API on loopback (anymail joins api_url and "email")."""
    server = FakePostmark()
    for started in serving(server):
        settings.ONEPING_POSTMARK_API_URL = f"{server.url}/"
        yield started


@pytest.fixture
def postmark_channel(account, postmark) -> ChannelConfig:
    """Email through Postmark for `account`: its deliveries stay "sent" until reported."""
    return ChannelConfig.objects.create(account=account, kind="email", config=POSTMARK_CONFIG)


def postmark_report(
    delivery: Delivery,
    reported_status: str,
    provider_status: str,
    *,
    bounce_type: str = "",
    error_text: str = "",
) -> ProviderReport:
    """A Postmark report about `delivery`, stored as its webhook handler stores one."""
    channel = ChannelConfig.objects.get(account_id=delivery.account_id, kind=delivery.channel)
    return ProviderReport.objects.create(
        account_id=delivery.account_id,
        channel=channel,
        provider="postmark",
        provider_message_id=delivery.provider_message_id,
        reported_status=reported_status,
        provider_status=provider_status,
        bounce_type=bounce_type,
        error_text=error_text,
        dedup_key=f"{delivery.provider_message_id}:{provider_status}",
        payload={"RecordType": "Bounce", "MessageID": delivery.provider_message_id},
    )


@pytest.fixture
def report_to_worker():
    """Store a report and hand it to the reports worker, as a received callback does."""

    def deliver(report: ProviderReport) -> ProviderReport:
        enqueue([report.pk])
        return report

    return deliver


@pytest.fixture
def apply_report():
    """Store a report and apply it at once, as its task would (no worker needed)."""

    def apply(report: ProviderReport) -> ProviderReport:
        processing.apply_now(report.pk)
        report.refresh_from_db()
        return report

    return apply


@pytest.fixture
def make_suppression(db):
    """A row of an account's list, as the service stores it (normalised address)."""

    def make(account, channel: str, address: str, reason: str = "hard_bounce", **fields):
        return Suppression.objects.create(
            account=account, channel=channel, address=address, reason=reason, **fields
        )

    return make
