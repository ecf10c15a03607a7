"""Email tracking webhooks (issue #17) against the one state machine: out-of-order and
repeated posts from each provider, the events they announce to a webhook endpoint (checked
with `standardwebhooks`), and one account's posts never reaching another's delivery."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from channels_app.callbacks import processing
from channels_app.models import ProviderReport
from tests.callback_helpers import reloaded, sent_delivery, timeline
from tests.conftest import wait_until
from tests.fixtures_email_providers import email_channel
from tests.fixtures_email_tracking import (
    MAILGUN_MESSAGE_ID,
    POSTMARK_MESSAGE_ID,
    RECIPIENT,
    RESEND_MESSAGE_ID,
    payload,
    payload_about,
    post_mailgun,
    post_postmark,
    post_resend,
    postmark_credentials,
    sent_email,
)
from webhooks.models import Event

pytestmark = pytest.mark.usefixtures("public_url")

MESSAGE_IDS = {
    "postmark": POSTMARK_MESSAGE_ID,
    "mailgun": MAILGUN_MESSAGE_ID,
    "resend": RESEND_MESSAGE_ID,
}
# Each provider's fixture for what a report says.
FIXTURES = {
    "postmark": {
        "delivered": "delivery",
        "opened": "open",
        "clicked": "click",
        "bounced": "bounce_hard",
        "complained": "spam_complaint",
    },
    "mailgun": {
        "delivered": "delivered",
        "opened": "opened",
        "clicked": "clicked",
        "bounced": "failed_permanent",
        "complained": "complained",
    },
    "resend": {
        "delivered": "delivered",
        "opened": "opened",
        "clicked": "clicked",
        "bounced": "bounced",
        "complained": "complained",
    },
}


def post(provider: str, channel, status: str, delivery=None):
    """The provider's post of its `status` event, about `delivery` (the fixture's message
    unless told); the same post again is a retry: Resend's svix-id is the fixture's."""
    name = FIXTURES[provider][status]
    body = payload_about(provider, name, delivery) if delivery else payload(provider, name)
    if provider == "postmark":
        return post_postmark(channel, body)
    if provider == "mailgun":
        return post_mailgun(channel, body)
    return post_resend(channel, body, event_id=f"msg_{name}")


def apply_all() -> None:
    pending = ProviderReport.objects.filter(status="pending").order_by("received_at", "pk")
    for report_id in pending.values_list("pk", flat=True):
        processing.apply_now(report_id)


SCENARIOS = {
    "delivered after opened": (["opened", "delivered"], "opened", ["message.opened"]),
    "bounce after delivered": (
        ["delivered", "bounced"],
        "bounced",
        ["message.delivered", "message.bounced"],
    ),
    "complaint after opened": (
        ["opened", "complained"],
        "complained",
        ["message.opened", "message.complained"],
    ),
    "click without open": (["clicked", "opened"], "clicked", ["message.clicked"]),
    "delivered after a bounce": (["bounced", "delivered"], "bounced", ["message.bounced"]),
}


@pytest.mark.parametrize("provider", ["postmark", "mailgun", "resend"])
@pytest.mark.parametrize(("arriving", "ends", "announced"), SCENARIOS.values(), ids=SCENARIOS)
def test_out_of_order_and_repeated_posts(account, provider, arriving, ends, announced):
    channel = email_channel(account, provider)
    delivery = sent_delivery(channel, MESSAGE_IDS[provider], address=RECIPIENT)

    for status in arriving:
        assert post(provider, channel, status).json()["stored"] == 1
        apply_all()

    assert reloaded(delivery).status == ends
    assert [status for status, _ in timeline(delivery)] == arriving
    events = Event.objects.filter(delivery=delivery).order_by("sequence")
    assert list(events.values_list("type", flat=True)) == announced

    # The provider retries each post (our answer was lost): stored once, nothing changes.
    for status in arriving:
        again = post(provider, channel, status)
        assert again.status_code == 200
        assert again.json() == {"received": True, "stored": 0, "duplicates": 1}
    assert ProviderReport.objects.count() == len(arriving)
    assert len(timeline(delivery)) == len(arriving)
    assert Event.objects.filter(delivery=delivery).count() == len(announced)


def test_a_second_open_is_a_new_report_that_changes_nothing(postmark_channel):
    delivery = sent_delivery(postmark_channel, POSTMARK_MESSAGE_ID, address=RECIPIENT)
    first = payload("postmark", "open")
    later = {**first, "FirstOpen": False, "ReceivedAt": "2026-12-07T18:00:00.0000000-04:00"}

    post_postmark(postmark_channel, first)
    post_postmark(postmark_channel, later)
    apply_all()

    assert ProviderReport.objects.count() == 2
    assert reloaded(delivery).status == "opened"
    assert "no change: it is opened" in timeline(delivery)[1][1]


def test_every_fate_reaches_the_endpoint_signed(
    api, postmark_channel, postmark, receiver, celery_worker
):
    endpoint = api.post_json(
        "/api/v1/webhook-endpoints",
        {
            "url": f"{receiver.url}/hooks",
            "event_types": [
                "message.delivered",
                "message.opened",
                "message.clicked",
                "message.bounced",
                "message.complained",
            ],
        },
    )
    assert endpoint.status_code == 201, endpoint.content
    delivery = sent_email(api)  # through Postmark's fake, by the worker

    # One post at a time, each applied by the worker before the next arrives.
    for status in ("delivered", "opened", "clicked", "bounced", "complained"):
        assert post("postmark", postmark_channel, status, delivery).status_code == 200
        wait_until(lambda status=status: reloaded(delivery).status == status)

    received = receiver.wait_for(5)
    verifier = Webhook(endpoint.json()["secret"])
    for request in received:
        verifier.verify(request.body, dict(request.headers))
    events = sorted((json.loads(r.body) for r in received), key=lambda e: e["data"]["sequence"])
    assert [event["event"] for event in events] == [
        "message.delivered",
        "message.opened",
        "message.clicked",
        "message.bounced",
        "message.complained",
    ]
    assert {event["data"]["delivery_id"] for event in events} == {delivery.pk}
    bounced = events[3]["data"]
    assert "unknown user, mailbox not found" in bounced["error"]


def test_another_account_cannot_touch_this_accounts_delivery(account, make_account):
    """Both accounts sent through Postmark and hold the same MessageID (a copied id, or a
    forged one): B's post, on B's own URL with B's credentials, reaches B's delivery only,
    and B's credentials do not open A's URL."""
    ours = email_channel(account, "postmark")
    victim = sent_delivery(ours, POSTMARK_MESSAGE_ID, address=RECIPIENT)
    theirs = email_channel(make_account("Mallory"), "postmark")
    their_delivery = sent_delivery(theirs, POSTMARK_MESSAGE_ID, address=RECIPIENT)

    on_their_url = post_postmark(theirs, payload("postmark", "bounce_hard"))
    on_our_url = post_postmark(
        ours, payload("postmark", "spam_complaint"), postmark_credentials(theirs)
    )
    apply_all()

    assert on_their_url.status_code == 200
    assert on_our_url.status_code == 403
    assert reloaded(their_delivery).status == "bounced"
    assert reloaded(victim).status == "sent"
    assert timeline(victim) == []
    assert ProviderReport.objects.get().account_id == theirs.account_id


def test_a_token_on_another_providers_route_or_an_unknown_one_is_not_found(postmark_channel):
    """A channel's token names its own provider's route only: 404, nothing stored."""
    wrong = post_mailgun(postmark_channel, payload("mailgun", "delivered"))
    postmark_channel.callback_token = "no-such-token"  # unsaved: a URL no channel has
    unknown = post_postmark(postmark_channel, payload("postmark", "delivery"), ("oneping", "x"))

    for response in (wrong, unknown):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert ProviderReport.objects.count() == 0
