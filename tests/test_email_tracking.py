"""Email providers' tracking webhooks (issue #17): Postmark, Mailgun and Resend posts in
their documented shapes (tests/fixtures/email_tracking/), verified per channel through
anymail's views, stored, acknowledged, and applied by a real worker to delivered /
bounced / complained / opened / clicked.

The flows start from a real send: /api/v1/send, a worker handing the email to the
provider's fake send API (tests/fakes_email.py), and the provider's post naming the message
id that send stored. The refusals need no send: their deliveries are made as
tests/callback_helpers.py makes them (a message the provider accepted, with its id)."""

import base64

import pytest
from django.test import Client

from channels_app.callbacks import processing
from channels_app.models import Message, ProviderReport
from tests.callback_helpers import reloaded, sent_delivery, timeline
from tests.conftest import wait_until
from tests.fixtures_email_providers import email_channel
from tests.fixtures_email_tracking import (
    MAILGUN_MESSAGE_ID,
    MAILGUN_SIGNING_KEY,
    POSTMARK_MESSAGE_ID,
    RECIPIENT,
    RESEND_MESSAGE_ID,
    RESEND_SECRET,
    payload,
    payload_about,
    post_mailgun,
    post_postmark,
    post_resend,
    postmark_credentials,
    sent_email,
)

pytestmark = pytest.mark.usefixtures("public_url")

HARD_BOUNCE = (
    "The server was unable to deliver your message (ex: unknown user, mailbox not found). — "
    "smtp;550 5.1.1 The email account that you tried to reach does not exist."
)


def posted(response, stored: int = 1) -> None:
    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "stored": stored, "duplicates": 0}


def apply_all() -> None:
    for report_id in ProviderReport.objects.order_by("received_at", "pk").values_list(
        "pk", flat=True
    ):
        processing.apply_now(report_id)


# --- Postmark ----------------------------------------------------------------------------


def test_postmark_delivery_then_open_through_a_worker(
    api, postmark_channel, postmark, celery_worker
):
    delivery = sent_email(api)

    posted(post_postmark(postmark_channel, payload_about("postmark", "delivery", delivery)))
    wait_until(lambda: reloaded(delivery).status == "delivered")
    posted(post_postmark(postmark_channel, payload_about("postmark", "open", delivery)))
    wait_until(lambda: reloaded(delivery).status == "opened")

    report = ProviderReport.objects.get(reported_status="delivered")
    assert (report.provider, report.account_id) == ("postmark", postmark_channel.account_id)
    # The id Postmark's answer gave the send, not the fixture's.
    assert report.provider_message_id == delivery.provider_message_id != POSTMARK_MESSAGE_ID
    assert len(postmark.requests) == 1
    assert report.payload["recipient"] == RECIPIENT
    assert "Content" not in str(report.payload)
    wait_until(lambda: Message.objects.get().status == "delivered")
    assert timeline(delivery)[-2:] == [
        ("delivered", "Postmark reported Delivery"),
        ("opened", "Postmark reported Open"),
    ]


def test_a_postmark_hard_bounce_keeps_its_type_and_description(
    api, postmark_channel, postmark, celery_worker
):
    delivery = sent_email(api)

    posted(post_postmark(postmark_channel, payload_about("postmark", "bounce_hard", delivery)))

    wait_until(lambda: reloaded(delivery).status == "bounced")
    report = ProviderReport.objects.get()
    assert (report.reported_status, report.bounce_type) == ("bounced", "hard")
    assert report.provider_status == "HardBounce"
    assert report.dedup_key == "postmark:4323372036854775807"  # Postmark's bounce ID
    assert reloaded(delivery).last_error == HARD_BOUNCE
    assert timeline(delivery)[-1] == (
        "bounced",
        f"Postmark reported HardBounce (hard bounce): {HARD_BOUNCE}",
    )
    wait_until(lambda: Message.objects.get().status == "failed")


def test_a_postmark_soft_bounce_is_a_soft_bounce(postmark_channel):
    delivery = sent_delivery(postmark_channel, POSTMARK_MESSAGE_ID, address=RECIPIENT)

    posted(post_postmark(postmark_channel, payload("postmark", "bounce_soft")))
    apply_all()

    report = ProviderReport.objects.get()
    assert (report.reported_status, report.bounce_type) == ("bounced", "soft")
    assert reloaded(delivery).status == "bounced"
    assert "(soft bounce): Unable to temporarily deliver" in timeline(delivery)[0][1]


def test_a_postmark_click_keeps_the_url_and_moves_past_a_missing_open(postmark_channel):
    delivery = sent_delivery(postmark_channel, POSTMARK_MESSAGE_ID, address=RECIPIENT)

    posted(post_postmark(postmark_channel, payload("postmark", "click")))
    apply_all()

    assert reloaded(delivery).status == "clicked"
    assert ProviderReport.objects.get().payload["click_url"] == "https://acme.test/orders/42"
    assert timeline(delivery) == [
        ("clicked", "Postmark reported Click: https://acme.test/orders/42")
    ]


@pytest.mark.parametrize("credentials", ["wrong password", "other user", "none"])
def test_a_postmark_post_without_the_urls_credentials_is_refused(postmark_channel, credentials):
    delivery = sent_delivery(postmark_channel, POSTMARK_MESSAGE_ID, address=RECIPIENT)
    user, password = postmark_credentials(postmark_channel)
    sent = {
        "wrong password": (user, password[:-4] + "0000"),
        "other user": ("admin", password),
        "none": ("", ""),
    }[credentials]

    response = post_postmark(postmark_channel, payload("postmark", "bounce_hard"), sent)

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "invalid_signature"
    assert "basic auth" in error["message"]
    assert password not in response.content.decode()
    assert ProviderReport.objects.count() == 0
    assert reloaded(delivery).status == "sent"
    assert timeline(delivery) == []


def test_another_postmark_channels_credentials_do_not_open_this_one(postmark_channel, make_account):
    other = email_channel(make_account("Mallory"), "postmark")

    response = post_postmark(
        postmark_channel, payload("postmark", "delivery"), postmark_credentials(other)
    )

    assert response.status_code == 403
    assert ProviderReport.objects.count() == 0


def test_postmark_news_that_is_no_fate_is_acknowledged_and_not_stored(postmark_channel):
    response = post_postmark(postmark_channel, payload("postmark", "subscription_change"))

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert ProviderReport.objects.count() == 0


# --- Mailgun -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "status", "bounce_type", "detail"),
    [
        ("delivered", "delivered", "", "Mailgun reported delivered"),
        (
            "failed_permanent",
            "bounced",
            "hard",
            "Mailgun reported failed (permanent) (hard bounce): 5.1.1 The email account "
            "that you tried to reach does not exist.",
        ),
        ("opened", "opened", "", "Mailgun reported opened"),
        ("clicked", "clicked", "", "Mailgun reported clicked: https://acme.test/orders/42"),
        ("complained", "complained", "", "Mailgun reported complained"),
    ],
)
def test_each_signed_mailgun_event_reaches_the_delivery(
    api, mailgun_channel, mailgun, celery_worker, fixture, status, bounce_type, detail
):
    delivery = sent_email(api)
    # Mailgun's id, with the angle brackets its answer gave (tests/fakes_email.py).
    assert delivery.provider_message_id.startswith("<")

    posted(post_mailgun(mailgun_channel, payload_about("mailgun", fixture, delivery)))

    report = wait_until(lambda: ProviderReport.objects.filter(status="applied").first())
    # anymail's message id gets Mailgun's angle brackets back, as its send's had them.
    assert report.provider_message_id == delivery.provider_message_id
    assert report.dedup_key.startswith("mailgun:")  # Mailgun's signature token
    assert report.bounce_type == bounce_type
    assert reloaded(delivery).status == status
    assert timeline(delivery)[-1] == (status, detail)


def test_a_temporary_mailgun_failure_is_on_the_timeline_only(mailgun_channel):
    delivery = sent_delivery(mailgun_channel, MAILGUN_MESSAGE_ID, address=RECIPIENT)

    posted(post_mailgun(mailgun_channel, payload("mailgun", "failed_temporary")))
    apply_all()

    assert ProviderReport.objects.get().reported_status == "deferred"
    assert reloaded(delivery).status == "sent"
    [(status, detail)] = timeline(delivery)
    assert status == "sent"
    assert "failed (temporary)" in detail and "over quota" in detail


@pytest.mark.parametrize("tamper", ["other key", "body", "no signature"])
def test_an_unverified_mailgun_post_is_refused(mailgun_channel, tamper):
    delivery = sent_delivery(mailgun_channel, MAILGUN_MESSAGE_ID, address=RECIPIENT)
    body = payload("mailgun", "failed_permanent")
    if tamper == "other key":
        response = post_mailgun(mailgun_channel, body, key="key-not-the-channels")
    elif tamper == "body":
        body["signature"]["signature"] = "0" * 64  # a token and time it did not sign
        response = post_mailgun(mailgun_channel, body, key="")
    else:
        del body["signature"]
        response = post_mailgun(mailgun_channel, body, key="")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert MAILGUN_SIGNING_KEY not in response.content.decode()
    assert ProviderReport.objects.count() == 0
    assert reloaded(delivery).status == "sent"


def test_a_mailgun_channel_without_its_signing_key_refuses_every_post(account):
    channel = email_channel(account, "mailgun", webhook_signing_key="")
    delivery = sent_delivery(channel, MAILGUN_MESSAGE_ID, address=RECIPIENT)

    response = post_mailgun(channel, payload("mailgun", "delivered"))

    assert response.status_code == 403
    assert "webhook_signing_key" in response.json()["error"]["message"]
    assert ProviderReport.objects.count() == 0
    assert reloaded(delivery).status == "sent"


def test_mailgun_unsubscribes_are_acknowledged_and_not_stored(mailgun_channel):
    response = post_mailgun(mailgun_channel, payload("mailgun", "unsubscribed"))

    assert response.status_code == 200
    assert response.json()["stored"] == 0


# --- Resend ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "status", "bounce_type"),
    [
        ("delivered", "delivered", ""),
        ("bounced", "bounced", "hard"),
        ("opened", "opened", ""),
        ("clicked", "clicked", ""),
        ("complained", "complained", ""),
    ],
)
def test_each_signed_resend_event_reaches_the_delivery(
    api, resend_channel, resend, celery_worker, fixture, status, bounce_type
):
    delivery = sent_email(api)

    body = payload_about("resend", fixture, delivery)
    posted(post_resend(resend_channel, body, event_id="msg_2W2D3qXLS5fOa"))

    report = wait_until(lambda: ProviderReport.objects.filter(status="applied").first())
    assert report.dedup_key == "resend:msg_2W2D3qXLS5fOa"  # the svix-id
    assert report.provider_status == f"email.{fixture}"
    assert report.bounce_type == bounce_type
    assert reloaded(delivery).status == status
    if status == "bounced":
        assert "hard bounce message" in reloaded(delivery).last_error
    if status == "clicked":
        assert timeline(delivery)[-1][1].endswith("https://acme.test/orders/42")


def test_a_delayed_resend_email_is_on_the_timeline_only(resend_channel):
    delivery = sent_delivery(resend_channel, RESEND_MESSAGE_ID, address=RECIPIENT)

    posted(post_resend(resend_channel, payload("resend", "delivery_delayed")))
    apply_all()

    assert reloaded(delivery).status == "sent"
    assert timeline(delivery)[0][0] == "sent"
    assert "email.delivery_delayed" in timeline(delivery)[0][1]


@pytest.mark.parametrize("tamper", ["other secret", "unsigned", "body"])
def test_an_unverified_resend_post_is_refused(resend_channel, tamper):
    delivery = sent_delivery(resend_channel, RESEND_MESSAGE_ID, address=RECIPIENT)
    body = payload("resend", "bounced")
    if tamper == "other secret":
        response = post_resend(resend_channel, body, secret="whsec_" + "A" * 32)
    elif tamper == "unsigned":
        response = post_resend(resend_channel, body, secret=None)
    else:
        # A delivered report, its signature on a bounced one: the signature covers the body.
        response = post_resend(resend_channel, payload("resend", "delivered"), signed_body=body)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert RESEND_SECRET not in response.content.decode()
    assert ProviderReport.objects.count() == 0
    assert reloaded(delivery).status == "sent"


@pytest.mark.parametrize("secret", ["", "not-a-whsec-secret!"])
def test_a_resend_channel_without_a_usable_secret_refuses_every_post(account, secret):
    channel = email_channel(account, "resend", webhook_secret=secret)

    response = post_resend(channel, payload("resend", "delivered"))

    assert response.status_code == 403
    assert "webhook" in response.json()["error"]["message"]
    assert ProviderReport.objects.count() == 0


def test_after_a_secret_key_rotation_the_pasted_url_still_verifies(postmark_channel, settings):
    """The password is derived from SECRET_KEY: the URL shown changes with a new key, and
    the one pasted before still verifies while the old key is in SECRET_KEY_FALLBACKS."""
    pasted = postmark_credentials(postmark_channel)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-0123456789-abcdefghij"

    assert postmark_credentials(postmark_channel) != pasted
    assert post_postmark(postmark_channel, payload("postmark", "delivery"), pasted).json() == {
        "received": True,
        "stored": 1,
        "duplicates": 0,
    }
    assert post_postmark(postmark_channel, payload("postmark", "open")).status_code == 200

    settings.SECRET_KEY_FALLBACKS = []
    refused = post_postmark(postmark_channel, payload("postmark", "click"), pasted)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "body",
    ["not json", "[1, 2]", '{"FromFull": {"Email": "someone@example.com"}}', '{"RecordType": 7}'],
)
def test_a_verified_postmark_body_anymail_cannot_read_is_acknowledged(postmark_channel, body):
    """Garbage, an inbound hook pointed at the tracking URL, an unknown shape: nothing to
    store, and no 500 (the provider would retry it for days)."""
    user, password = postmark_credentials(postmark_channel)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()

    response = Client().post(
        postmark_channel.callback_path("postmark"),
        body,
        "application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert ProviderReport.objects.count() == 0


def test_a_legacy_mailgun_form_post_is_read_too(mailgun_channel):
    """Mailgun's legacy webhooks post a form, the signature among its fields: anymail's view
    reads request.POST from the body the route already read."""
    import hashlib
    import hmac
    from urllib.parse import urlencode

    delivery = sent_delivery(mailgun_channel, MAILGUN_MESSAGE_ID, address=RECIPIENT)
    form = {
        "event": "delivered",
        "recipient": RECIPIENT,
        "Message-Id": MAILGUN_MESSAGE_ID,
        "timestamp": "1765113437",
        "token": "06c96bafc3f42a66b9edd546347a2fe18dc23461fe80dc52f0",
    }
    form["signature"] = hmac.new(
        MAILGUN_SIGNING_KEY.encode(),
        f"{form['timestamp']}{form['token']}".encode(),
        hashlib.sha256,
    ).hexdigest()

    response = Client().post(
        mailgun_channel.callback_path("mailgun"),
        urlencode(form),
        "application/x-www-form-urlencoded",
    )
    apply_all()

    assert response.json()["stored"] == 1
    assert reloaded(delivery).status == "delivered"
