"""Providers go down and come back: the SMTP server (aiosmtpd) and Telegram behind proxies
that reset or refuse connections, Slack answering 503.

Down for part of the retry schedule (tests/settings.py compresses it to 0.2 s steps, four
attempts in all): retried and delivered. Down for longer: failed, listed as dead letters,
and delivered by a manual retry once the provider is back.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from channels_app.models import Contact, Delivery, Message
from tests.conftest import send, wait_until
from tests.fakes import Canned, FakeHTTPProvider, FakeSMTP
from tests.faults.proxy import TcpProxy
from tests.faults.report import report

pytestmark = [pytest.mark.faults, pytest.mark.worker]

ATTEMPTS = 4  # 1 + len(ONEPING_DELIVERY_RETRY_SCHEDULE) in tests/settings.py
CHANNELS = ["email", "telegram", "slack"]


@dataclass
class Providers:
    smtp: FakeSMTP
    telegram: FakeHTTPProvider
    slack: FakeHTTPProvider
    smtp_proxy: TcpProxy
    telegram_proxy: TcpProxy


@pytest.fixture
def providers(channels, account, smtp, telegram, slack, settings) -> Iterator[Providers]:
    """The account's email and Telegram channels reach their fakes through proxies."""
    smtp_proxy = TcpProxy(smtp.port).start()
    telegram_proxy = TcpProxy(int(telegram.url.rsplit(":", 1)[1])).start()
    email = channels["email"]
    email.config = {**email.config, "port": smtp_proxy.port}
    email.save()
    settings.ONEPING_TELEGRAM_API_BASE = telegram_proxy.url
    Contact.objects.create(account=account, identifier="ops", addresses={"email": "ops@acme.test"})
    try:
        yield Providers(smtp, telegram, slack, smtp_proxy, telegram_proxy)
    finally:
        smtp_proxy.stop()
        telegram_proxy.stop()


def settled(message_id: str) -> Message:
    return wait_until(
        lambda: Message.objects.filter(
            pk=message_id, status__in=["delivered", "failed", "partially_failed"]
        ).first(),
        timeout=30,
    )


def timeline(delivery: Delivery) -> list[str]:
    """The statuses the attempts went through. A retry that comes before its destination's
    pacing token waits for it ("paced until …", #19): no attempt, so not part of the
    schedule under test."""
    return [step.status for step in delivery.steps if not step.detail.startswith("paced until")]


@pytest.mark.timeout(120)
def test_providers_down_for_part_of_the_schedule_are_retried_and_delivered(
    api, providers: Providers, celery_worker
):
    # Given every provider fails its first two attempts: SMTP and Telegram reset the
    # connection (a load balancer with no backend), Slack answers 503
    providers.smtp_proxy.reset_next(2)
    providers.telegram_proxy.reset_next(2)
    providers.slack.answer(Canned(503, "busy"), Canned(503, "busy"))

    # When a message goes to all three
    started = time.monotonic()
    message = settled(send(api, "Disk almost full", channels=CHANNELS)["id"])
    took = time.monotonic() - started

    # Then each delivery succeeded on its third attempt, within the schedule
    deliveries = {d.channel: d for d in message.deliveries.all()}
    report(
        "provider_outage_within_schedule",
        message_status=message.status,
        attempts={c: d.attempts for c, d in deliveries.items()},
        statuses={c: d.status for c, d in deliveries.items()},
        connections_reset={
            "email": providers.smtp_proxy.resets,
            "telegram": providers.telegram_proxy.resets,
        },
        seconds_send_to_all_delivered=round(took, 2),
    )
    assert message.status == "delivered"
    assert {c: d.status for c, d in deliveries.items()} == {
        "email": "sent",
        "telegram": "delivered",
        "slack": "delivered",
    }
    for channel, delivery in deliveries.items():
        assert delivery.attempts == 3, channel
        success = "sent" if channel == "email" else "delivered"
        assert timeline(delivery) == [
            "queued",
            *["sending", "retrying"] * 2,
            "sending",
            success,
        ], channel
    assert [m["to"] for m in providers.smtp.messages] == [["ops@acme.test"]]
    assert [r.json()["text"] for r in providers.telegram.requests] == ["Disk almost full"]
    assert len(providers.slack.requests) == 3


@pytest.mark.timeout(120)
def test_providers_down_past_the_schedule_are_dead_letters_until_retried(
    api, providers: Providers, celery_worker
):
    # Given SMTP and Telegram refuse connections, and Slack answers 503, for good
    providers.smtp_proxy.stop()
    providers.telegram_proxy.stop()
    providers.slack.default = Canned(503, "busy")

    # When a message goes to all three
    message = settled(send(api, "Backup failed", channels=CHANNELS)["id"])

    # Then every delivery failed after its last attempt, and is listed as a dead letter
    assert message.status == "failed"
    deliveries = list(message.deliveries.all())
    assert {d.status for d in deliveries} == {"failed"}
    assert {d.attempts for d in deliveries} == {ATTEMPTS}
    dead = api.get("/api/v1/deliveries?status=failed").json()["results"]
    assert sorted(d["id"] for d in dead) == sorted(d.pk for d in deliveries)

    # When the providers are back and each dead letter is retried
    providers.smtp_proxy.start()
    providers.telegram_proxy.start()
    providers.slack.default = Canned(200, "ok")
    back_at = time.monotonic()
    for delivery in deliveries:
        response = api.post_json(f"/api/v1/deliveries/{delivery.pk}/retry")
        assert response.status_code == 202, response.content
        assert response.json()["status"] == "queued"

    # Then each is delivered once, and no dead letter is left
    message = settled(message.pk)
    took = time.monotonic() - back_at
    deliveries = {d.channel: d for d in message.deliveries.all()}
    report(
        "provider_outage_past_schedule",
        dead_letters=len(dead),
        attempts={c: d.attempts for c, d in deliveries.items()},
        statuses={c: d.status for c, d in deliveries.items()},
        seconds_retry_to_all_delivered=round(took, 2),
    )
    assert message.status == "delivered"
    assert {c: d.attempts for c, d in deliveries.items()} == dict.fromkeys(CHANNELS, ATTEMPTS + 1)
    assert api.get("/api/v1/deliveries?status=failed").json()["results"] == []
    assert len(providers.smtp.messages) == 1
    assert [r.json()["text"] for r in providers.telegram.requests] == ["Backup failed"]
    assert [r.json()["text"] for r in providers.slack.requests] == ["Backup failed"] * (
        ATTEMPTS + 1
    )
