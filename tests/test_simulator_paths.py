"""Test mode runs a live send's paths with only the transport simulated: the suppression
list, fallbacks, pacing's pause after a 429, contacts before magic words; and it never
contacts a provider, even through channels configured with real-shaped settings."""

import pytest

from accounts import environments
from channels_app.models import ChannelConfig, Delivery, Message, Suppression
from tests.conftest import TELEGRAM_TOKEN, delivery_ids, email_config, send, wait_until
from tests.fakes_phones import SMS_CONFIG, WHATSAPP_META_CONFIG
from tests.simulator_helpers import op_test_client, outcome_statuses

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _quick_reports(settings):
    settings.ONEPING_SIMULATOR_REPORT_DELAY_SECONDS = 0.2


def settled(delivery_id: str, *statuses: str) -> Delivery:
    return wait_until(
        lambda: Delivery.objects.filter(pk=delivery_id, status__in=statuses).first(), timeout=60
    )


def test_a_hard_bounce_suppresses_the_address_in_the_test_environment_only(account, celery_worker):
    api = op_test_client(account)
    first = send(api, "one", channels=["email"], recipient="bounced@sim.oneping.test")
    settled(delivery_ids(first)[0], "bounced")

    suppression = wait_until(lambda: Suppression.objects.filter(channel="email").first())
    assert suppression.address == "bounced@sim.oneping.test"
    assert suppression.reason == Suppression.Reason.HARD_BOUNCE
    assert suppression.account == environments.test_environment(account)
    assert not Suppression.objects.filter(account=account).exists()

    # A second send to it fails at once, as suppressed, without reaching the simulator.
    second = send(api, "two", channels=["email"], recipient="bounced@sim.oneping.test")
    delivery = settled(delivery_ids(second)[0], "failed")
    assert delivery.last_error.startswith("suppressed: bounced@sim.oneping.test hard-bounced")
    assert delivery.provider_message_id == ""
    listed = api.get("/api/v1/suppressions").json()
    assert [row["address"] for row in listed["results"]] == ["bounced@sim.oneping.test"]


def test_a_complaint_suppresses_the_address(account, celery_worker):
    api = op_test_client(account)
    accepted = send(api, "one", channels=["email"], recipient="complained@sim.oneping.test")
    settled(delivery_ids(accepted)[0], "complained")
    suppression = wait_until(lambda: Suppression.objects.filter(channel="email").first())
    assert suppression.reason == Suppression.Reason.COMPLAINT


def test_the_fallback_delivers_after_a_simulated_bounce(account, celery_worker):
    api = op_test_client(account)
    accepted = send(
        api,
        "Your order shipped",
        channels=["email"],
        fallback_channels=["telegram"],
        recipient="bounced@sim.oneping.test",
    )
    email, telegram = delivery_ids(accepted)

    settled(email, "bounced")
    fallback = settled(telegram, "delivered")
    assert outcome_statuses(fallback) == ["delivered"]
    message = wait_until(
        lambda: Message.objects.filter(pk=accepted["id"], status="partially_failed").first()
    )
    assert message.status == "partially_failed"


def test_a_simulated_429_pauses_the_destination_for_its_retry_after(account, celery_worker):
    api = op_test_client(account)
    accepted = send(api, "hi", channels=["discord"], recipient="rate-limited")
    delivery = settled(delivery_ids(accepted)[0], "delivered")

    assert delivery.attempts == 2
    retrying = next(step for step in delivery.steps if step.status == "retrying")
    assert "Simulated 429" in retrying.detail
    assert "retry after 1 s" in retrying.detail
    waited = float(retrying.detail.rsplit("next attempt in ", 1)[1].split(" s")[0])
    assert waited >= 1.0


def test_a_contact_with_the_magic_word_as_identifier_wins(account, celery_worker):
    api = op_test_client(account)
    created = api.post_json(
        "/api/v1/contacts", {"identifier": "failed", "addresses": {"telegram": "4242"}}
    )
    assert created.status_code == 201, created.content

    accepted = send(api, "hi", channels=["telegram"], recipient="failed")
    delivery = settled(delivery_ids(accepted)[0], "delivered", "failed")
    assert delivery.status == "delivered"
    assert delivery.target == "4242"


def test_test_mode_never_contacts_a_provider(
    account, telegram, slack, discord, smtp, twilio, meta, receiver, celery_worker
):
    # Given test-mode channels configured as live ones would be, at the loopback fakes
    api = op_test_client(account)
    configs = {
        "telegram": {"bot_token": TELEGRAM_TOKEN, "default_chat_id": "4242"},
        "slack": {"webhook_url": f"{slack.url}/services/T000/B000/XXXX"},
        "discord": {"webhook_url": f"{discord.url}/api/webhooks/1/abc"},
        "email": email_config(smtp),
        "sms": SMS_CONFIG,
        "whatsapp": WHATSAPP_META_CONFIG,
    }
    for kind, config in configs.items():
        response = api.post_json("/api/v1/channels", {"kind": kind, "config": config})
        assert response.status_code == 201, response.content
        assert response.json()["livemode"] is False

    # When a message goes to every kind, and to a contact's own Slack webhook
    api.post_json(
        "/api/v1/contacts",
        {
            "identifier": "ops",
            "addresses": {"slack": f"{slack.url}/services/T1/B1/YYYY", "email": "a@b.example"},
        },
    )
    ids = []
    for kind in configs:
        recipient = "+14155550100" if kind in ("sms", "whatsapp") else "ops"
        ids += delivery_ids(send(api, "hello", channels=[kind], recipient=recipient))

    # Then each is delivered by the simulator, and no fake heard a thing
    for delivery_id in ids:
        delivery = settled(delivery_id, "delivered")
        assert delivery.provider_message_id.startswith("sim_")
    for fake in (telegram, slack, discord, twilio, meta):
        assert fake.requests == []
    assert smtp.messages == []


def test_live_mode_is_unchanged(api, account, celery_worker):
    response = api.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["telegram"], "recipient": "delivered"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "channel_not_configured"
    assert not ChannelConfig.objects.filter(account=account).exists()


def test_simulator_callback_url_does_not_exist(account, anonymous_api, db):
    api = op_test_client(account)
    send(api, "hi", channels=["sms"], recipient="+14155550100")
    channel = ChannelConfig.objects.get(kind="sms")
    response = anonymous_api.post(
        f"/hooks/providers/simulator/{channel.callback_token}/",
        data="x=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 404


def test_the_readme_variants_of_magic_recipients(account, celery_worker):
    # The README: a +tag is ignored, any area code matches, a soft bounce is on the timeline.
    api = op_test_client(account)
    tagged = send(api, "a", channels=["email"], recipient="Bounced+run42@sim.oneping.test")
    other_area = send(api, "b", channels=["sms"], recipient="+1 212 555 0101")
    soft = send(api, "c", channels=["email"], recipient="soft-bounce@sim.oneping.test")
    no_retry = send(api, "d", channels=["slack"], recipient="retry", retry=False)

    settled(delivery_ids(tagged)[0], "bounced")
    failed = settled(delivery_ids(other_area)[0], "failed")
    assert "not a valid mobile number" in failed.last_error
    delivered = settled(delivery_ids(soft)[0], "delivered")
    assert any("Simulator reported deferred" in step.detail for step in delivered.steps)
    assert settled(delivery_ids(no_retry)[0], "failed", "delivered").status == "failed"
