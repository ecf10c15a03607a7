"""/hooks/providers/<provider>/<token>/: Twilio and Meta status callbacks, verified, stored,
acknowledged, and applied by a real worker to delivered / read / failed (issue #16; what a
late or out-of-order report changes: tests/test_report_precedence.py)."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from channels_app.callbacks import processing
from channels_app.models import ChannelConfig, Delivery, Message, ProviderReport
from tests.callback_helpers import (
    PUBLIC_URL,
    meta_signature,
    meta_status,
    meta_statuses,
    post_meta,
    post_twilio,
    reloaded,
    sent_delivery,
    timeline,
    twilio_signature,
    twilio_status,
)
from tests.conftest import wait_until
from tests.fakes_phones import (
    APP_SECRET,
    AUTH_TOKEN,
    PHONE_NUMBER_ID,
    SMS_CONFIG,
    VERIFY_TOKEN,
)

SID = "SM" + "a" * 32
# Twilio's documented request (auth token 12345, signature RSOYDt4T1cUTdK1PDd93/VVr8B8=):
# https://www.twilio.com/docs/usage/security#validating-requests
TWILIO_EXAMPLE = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
WAMID = "wamid.HBgLMTQxNTU1NTI2NzEVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"


# Every test here has ONEPING_PUBLIC_URL set, unless it sets its own.
pytestmark = pytest.mark.usefixtures("public_url")


# --- Twilio --------------------------------------------------------------------------


def test_our_twilio_signature_reproduces_twilios_documented_example():
    # https://www.twilio.com/docs/usage/security#validating-requests (auth token 12345)
    params = TWILIO_EXAMPLE
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(url, params, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_the_route_verifies_twilios_documented_example(account, settings):
    """The documented request, with its URL's host as ONEPING_PUBLIC_URL and its auth
    token as the channel's, verifies (and says nothing about a message: nothing stored)."""
    channel = ChannelConfig.objects.create(
        account=account, kind="sms", config={**SMS_CONFIG, "auth_token": "12345"}
    )
    settings.ONEPING_PUBLIC_URL = "https://mycompany.com"
    params = TWILIO_EXAMPLE
    url = f"https://mycompany.com{channel.callback_path('twilio')}?foo=1&bar=2"
    path = url.removeprefix("https://mycompany.com")

    response = Client().post(
        path,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=twilio_signature(url, params, "12345"),
    )

    assert response.status_code == 200
    assert response.content == b""
    assert ProviderReport.objects.count() == 0


def test_a_signed_delivered_callback_reaches_the_delivery_through_a_worker(
    sms_channel, celery_worker
):
    delivery = sent_delivery(sms_channel, SID)

    response = post_twilio(sms_channel, twilio_status(SID, "delivered"), auth_token=AUTH_TOKEN)

    assert response.status_code == 200
    assert response.content == b""  # Twilio reads the answer as TwiML: empty = nothing to do
    report = ProviderReport.objects.get()
    assert (report.provider, report.reported_status, report.account_id) == (
        "twilio",
        "delivered",
        sms_channel.account_id,
    )
    wait_until(lambda: reloaded(delivery).status == "delivered")
    wait_until(lambda: ProviderReport.objects.get().status == "applied")
    assert ProviderReport.objects.get().delivery_id == delivery.pk
    assert reloaded(delivery).fate_due_at is None
    assert Message.objects.get().status == "delivered"
    assert timeline(delivery)[-1] == ("delivered", "Twilio reported delivered")


@pytest.mark.parametrize(
    "tamper",
    ["body", "signature", "missing", "other token", "request host"],
)
def test_an_unverified_twilio_callback_is_refused_and_changes_nothing(sms_channel, tamper):
    delivery = sent_delivery(sms_channel, SID)
    form = twilio_status(SID, "failed", "30003")
    signed = twilio_signature(PUBLIC_URL + sms_channel.callback_path("twilio"), form, AUTH_TOKEN)
    kwargs = {"auth_token": AUTH_TOKEN}
    if tamper == "body":
        kwargs["signature"] = signed
        form = {**form, "ErrorCode": "30004"}
    elif tamper == "signature":
        kwargs["signature"] = signed[:-4] + "AAA="
    elif tamper == "missing":
        kwargs["signature"] = ""
    elif tamper == "other token":
        kwargs["auth_token"] = "0" * 32
    else:
        # Signed over the host a proxy rewrote the request to, not the public URL Twilio
        # called: the signature must be checked against ONEPING_PUBLIC_URL.
        kwargs["signed_url"] = "http://testserver" + sms_channel.callback_path("twilio")

    response = post_twilio(sms_channel, form, **kwargs)

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "invalid_signature"
    assert "X-Twilio-Signature" in error["message"]
    assert AUTH_TOKEN not in response.content.decode()
    assert ProviderReport.objects.count() == 0
    assert reloaded(delivery).status == "sent"
    assert timeline(delivery) == []


def test_behind_a_proxy_the_public_url_is_what_is_verified(sms_channel):
    """The request arrives with the proxy's inside Host; Twilio signed the public URL."""
    sent_delivery(sms_channel, SID)

    response = post_twilio(
        sms_channel,
        twilio_status(SID, "sent"),
        auth_token=AUTH_TOKEN,
        HTTP_HOST="127.0.0.1",
    )

    assert response.status_code == 200
    assert ProviderReport.objects.count() == 1


def test_without_a_public_url_the_requests_own_url_is_verified(account, settings):
    settings.ONEPING_PUBLIC_URL = ""
    channel = ChannelConfig.objects.create(account=account, kind="sms", config=SMS_CONFIG)
    form = twilio_status(SID, "sent")

    response = post_twilio(
        channel,
        form,
        auth_token=AUTH_TOKEN,
        signed_url="http://testserver" + channel.callback_path("twilio"),
    )

    assert response.status_code == 200


def test_a_duplicate_twilio_callback_changes_nothing(sms_channel, celery_worker):
    delivery = sent_delivery(sms_channel, SID)
    form = twilio_status(SID, "delivered")

    first = post_twilio(sms_channel, form, auth_token=AUTH_TOKEN)
    wait_until(lambda: ProviderReport.objects.get().status == "applied")
    second = post_twilio(sms_channel, form, auth_token=AUTH_TOKEN)

    assert first.status_code == second.status_code == 200
    assert ProviderReport.objects.count() == 1
    assert [status for status, _ in timeline(delivery)] == ["delivered"]


def test_a_permanent_failure_fails_the_delivery_with_twilios_cause(sms_channel, celery_worker):
    delivery = sent_delivery(sms_channel, SID)

    post_twilio(sms_channel, twilio_status(SID, "undelivered", "30003"), auth_token=AUTH_TOKEN)

    wait_until(lambda: reloaded(delivery).status == "failed")
    failed = reloaded(delivery)
    assert failed.last_error == "Twilio error 30003: the recipient's handset is unreachable"
    assert failed.fate_due_at is None
    assert Message.objects.get().status == "failed"
    assert timeline(delivery) == [
        (
            "failed",
            "Twilio reported undelivered: Twilio error 30003: the recipient's handset "
            "is unreachable",
        )
    ]


def test_a_transient_failure_code_makes_the_delivery_retry_on_its_policy(sms_channel, settings):
    """30001 (Twilio's queue overflowed) with attempts left: retrying, not failed."""
    settings.ONEPING_DELIVERY_RETRY_SCHEDULE = [60]
    delivery = sent_delivery(sms_channel, SID)
    report = store_twilio(sms_channel, twilio_status(SID, "failed", "30001"))

    processing.apply_now(report.pk)

    retrying = reloaded(delivery)
    assert retrying.status == "retrying"
    assert retrying.next_attempt_at is not None
    assert "30001" in retrying.last_error
    assert Message.objects.get().status == "processing"
    assert "next attempt in" in timeline(delivery)[-1][1]


def test_a_transient_failure_without_attempts_left_fails(sms_channel):
    delivery = sent_delivery(sms_channel, SID)
    Delivery.objects.filter(pk=delivery.pk).update(max_attempts=1)
    report = store_twilio(sms_channel, twilio_status(SID, "failed", "30001"))

    processing.apply_now(report.pk)

    assert reloaded(delivery).status == "failed"


def store_twilio(channel: ChannelConfig, form: dict[str, str]) -> ProviderReport:
    """Receive a signed callback (its task left in the queue) and return its stored row."""
    before = set(ProviderReport.objects.values_list("pk", flat=True))
    response = post_twilio(channel, form, auth_token=AUTH_TOKEN)
    assert response.status_code == 200, response.content
    return ProviderReport.objects.exclude(pk__in=before).get()


def test_twilios_own_steps_before_sent_are_acknowledged_and_not_stored(sms_channel):
    for status in ("queued", "accepted", "sending"):
        response = post_twilio(sms_channel, twilio_status(SID, status), auth_token=AUTH_TOKEN)
        assert response.status_code == 200
    assert ProviderReport.objects.count() == 0


# --- Meta (WhatsApp Cloud API) --------------------------------------------------------


def test_meta_get_answers_the_challenge_with_the_right_verify_token(whatsapp_meta_channel):
    path = whatsapp_meta_channel.callback_path("whatsapp")
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}

    right = Client().get(path, {**query, "hub.verify_token": VERIFY_TOKEN})
    wrong = Client().get(path, {**query, "hub.verify_token": "guess"})
    missing = Client().get(path, query)

    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain")
    assert right.content == b"1158201444"
    assert wrong.status_code == missing.status_code == 403
    assert b"1158201444" not in wrong.content


def test_a_signed_meta_batch_stores_one_report_per_status_and_ignores_messages(
    whatsapp_meta_channel, celery_worker
):
    first = sent_delivery(whatsapp_meta_channel, WAMID)
    second = sent_delivery(whatsapp_meta_channel, WAMID + "2")
    body = meta_statuses(
        PHONE_NUMBER_ID,
        meta_status(WAMID, "delivered", 1750000001),
        meta_status(WAMID + "2", "read", 1750000002),
        messages=[
            {"from": "14155552671", "id": "wamid.IN", "type": "text", "text": {"body": "hi"}}
        ],
    )

    response = post_meta(whatsapp_meta_channel, body, app_secret=APP_SECRET)

    assert response.status_code == 200
    assert response.json() == {"received": True, "stored": 2, "duplicates": 0}
    assert ProviderReport.objects.count() == 2
    wait_until(lambda: reloaded(first).status == "delivered")
    wait_until(lambda: reloaded(second).status == "read")
    assert Message.objects.filter(status="delivered").count() == 2


def test_statuses_of_another_number_of_the_meta_app_are_not_this_channels(whatsapp_meta_channel):
    body = meta_statuses("999999999999999", meta_status(WAMID, "delivered"))

    response = post_meta(whatsapp_meta_channel, body, app_secret=APP_SECRET)

    assert response.json()["stored"] == 0
    assert ProviderReport.objects.count() == 0


@pytest.mark.parametrize("tamper", ["body", "missing", "other secret"])
def test_an_unverified_meta_post_is_refused_and_changes_nothing(whatsapp_meta_channel, tamper):
    delivery = sent_delivery(whatsapp_meta_channel, WAMID)
    body = meta_statuses(PHONE_NUMBER_ID, meta_status(WAMID, "read"))
    if tamper == "body":
        signature = meta_signature(json.dumps({"entry": []}).encode(), APP_SECRET)
    elif tamper == "missing":
        signature = ""
    else:
        signature = meta_signature(json.dumps(body).encode(), "not-the-app-secret")

    response = post_meta(whatsapp_meta_channel, body, app_secret=APP_SECRET, signature=signature)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
    assert ProviderReport.objects.count() == 0
    assert reloaded(delivery).status == "sent"


def test_read_then_a_late_delivered_keeps_read_and_both_are_on_the_timeline(whatsapp_meta_channel):
    delivery = sent_delivery(whatsapp_meta_channel, WAMID)
    post_meta(
        whatsapp_meta_channel,
        meta_statuses(PHONE_NUMBER_ID, meta_status(WAMID, "read", 1750000005)),
        app_secret=APP_SECRET,
    )
    post_meta(
        whatsapp_meta_channel,
        meta_statuses(PHONE_NUMBER_ID, meta_status(WAMID, "delivered", 1750000003)),
        app_secret=APP_SECRET,
    )
    post_meta(
        whatsapp_meta_channel,
        meta_statuses(PHONE_NUMBER_ID, meta_status(WAMID, "sent", 1750000001)),
        app_secret=APP_SECRET,
    )

    for report in ProviderReport.objects.order_by("received_at", "pk"):
        processing.apply_now(report.pk)

    assert reloaded(delivery).status == "read"
    assert [status for status, _ in timeline(delivery)] == ["read", "delivered", "sent"]
    assert "no change: it is read" in timeline(delivery)[1][1]
    assert Message.objects.get().status == "delivered"


def test_the_message_page_shows_read_and_the_fate_wait(whatsapp_meta_channel, owner_client):
    waiting = sent_delivery(whatsapp_meta_channel, WAMID)
    read = sent_delivery(whatsapp_meta_channel, WAMID + "r")
    Delivery.objects.filter(pk=read.pk).update(status="read", fate_due_at=None)

    waiting_page = owner_client.get(f"/messages/{waiting.message_id}/").content.decode()
    read_page = owner_client.get(f"/messages/{read.message_id}/").content.decode()

    assert "awaiting the provider's report until" in waiting_page
    assert '<span class="badge badge-read">Read</span>' in read_page


def test_a_failure_after_delivered_fails_the_delivery_and_its_message(whatsapp_meta_channel):
    """Issue #17's precedence table: a failure may follow any success (under #16 a failure
    after delivered was kept on the timeline but changed nothing)."""
    delivery = sent_delivery(whatsapp_meta_channel, WAMID)
    failed = meta_status(
        WAMID, "failed", 1750000009, errors=[{"code": 131026, "title": "Message undeliverable"}]
    )
    post_meta(
        whatsapp_meta_channel,
        meta_statuses(PHONE_NUMBER_ID, meta_status(WAMID, "delivered")),
        app_secret=APP_SECRET,
    )
    post_meta(whatsapp_meta_channel, meta_statuses(PHONE_NUMBER_ID, failed), app_secret=APP_SECRET)

    for report in ProviderReport.objects.order_by("received_at", "pk"):
        processing.apply_now(report.pk)

    assert reloaded(delivery).status == "failed"
    assert "131026" in reloaded(delivery).last_error
    assert [status for status, _ in timeline(delivery)] == ["delivered", "failed"]
    detail = timeline(delivery)[-1][1]
    assert "131026" in detail and "no change" not in detail
    assert Message.objects.get().status == "failed"


def test_a_duplicate_meta_status_in_a_retried_webhook_is_stored_once(whatsapp_meta_channel):
    body = meta_statuses(PHONE_NUMBER_ID, meta_status(WAMID, "delivered"))

    first = post_meta(whatsapp_meta_channel, body, app_secret=APP_SECRET)
    again = post_meta(whatsapp_meta_channel, body, app_secret=APP_SECRET)

    assert first.json()["stored"] == 1
    assert again.json() == {"received": True, "stored": 0, "duplicates": 1}
    assert ProviderReport.objects.count() == 1


# --- Lookup, limits, order ------------------------------------------------------------


def test_an_unknown_token_or_provider_is_404_and_stores_nothing(sms_channel, whatsapp_meta_channel):
    form = twilio_status(SID, "delivered")
    unknown = Client().post("/hooks/providers/twilio/no-such-token/", form)
    other_provider = Client().post(f"/hooks/providers/pigeon/{sms_channel.callback_token}/", form)
    # The Meta channel's token on Twilio's route: not its provider.
    wrong_route = post_twilio(whatsapp_meta_channel, form, auth_token=AUTH_TOKEN)

    for response in (unknown, other_provider, wrong_route):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert ProviderReport.objects.count() == 0


def test_twilios_route_takes_no_get(sms_channel):
    response = Client().get(sms_channel.callback_path("twilio"))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_callbacks_over_the_rate_get_429_in_the_error_shape(sms_channel, settings):
    settings.ONEPING_CALLBACK_RATE_PER_CHANNEL = 1
    settings.ONEPING_CALLBACK_BURST_PER_CHANNEL = 2
    form = twilio_status(SID, "sent")

    answers = [post_twilio(sms_channel, form, auth_token=AUTH_TOKEN) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    error = answers[-1].json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"]["limit"] == "channel"
    assert int(answers[-1]["Retry-After"]) >= 1


def test_a_body_over_the_cap_is_413(sms_channel):
    response = Client().post(
        sms_channel.callback_path("twilio"),
        b"x" * (1024 * 1024 + 1),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_callback_before_the_send_is_recorded_waits_for_it(sms_channel, settings, celery_worker):
    settings.ONEPING_REPORT_RETRY_SCHEDULE = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    settings.ONEPING_REPORT_RETRY_JITTER = 0
    post_twilio(sms_channel, twilio_status(SID, "delivered"), auth_token=AUTH_TOKEN)
    wait_until(lambda: ProviderReport.objects.get().status == "retrying")
    assert "yet" in ProviderReport.objects.get().error

    delivery = sent_delivery(sms_channel, SID)  # the send's answer, recorded late

    wait_until(lambda: ProviderReport.objects.get().status == "applied")
    assert reloaded(delivery).status == "delivered"


def test_a_report_whose_delivery_never_comes_is_a_dead_letter_and_can_be_reprocessed(
    sms_channel, settings
):
    settings.ONEPING_REPORT_RETRY_SCHEDULE = []  # one try
    report = store_twilio(sms_channel, twilio_status(SID, "delivered"))

    processing.apply_now(report.pk)
    report.refresh_from_db()
    assert report.status == "failed"
    assert SID in report.error

    delivery = sent_delivery(sms_channel, SID)
    assert processing.reprocess([report]) == 1
    processing.apply_now(report.pk)

    report.refresh_from_db()
    assert report.status == "applied"
    assert reloaded(delivery).status == "delivered"


def test_another_accounts_token_never_touches_this_accounts_delivery(
    sms_channel, make_account, settings
):
    """Account B has its own SMS channel (its own token and auth token) and reports A's
    provider message id on it: B's report finds no delivery of B's and dead-letters."""
    settings.ONEPING_REPORT_RETRY_SCHEDULE = []
    victim = sent_delivery(sms_channel, SID)
    other = make_account("Mallory")
    their_token = "1" * 32
    theirs = ChannelConfig.objects.create(
        account=other, kind="sms", config={**SMS_CONFIG, "auth_token": their_token}
    )

    response = post_twilio(theirs, twilio_status(SID, "failed", "30003"), auth_token=their_token)
    assert response.status_code == 200
    report = ProviderReport.objects.get()
    assert report.account_id == other.pk
    processing.apply_now(report.pk)

    report.refresh_from_db()
    assert report.status == "failed"
    assert report.delivery_id is None
    assert reloaded(victim).status == "sent"
    assert timeline(victim) == []
    # And A's auth token does not sign for B's URL.
    forged = post_twilio(theirs, twilio_status(SID, "read"), auth_token=AUTH_TOKEN)
    assert forged.status_code == 403
