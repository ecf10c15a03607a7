"""The phone channels in the browser (issue #16): an owner sets up SMS and WhatsApp on the
channel page and is shown where each provider reports; a message page follows an SMS and a
WhatsApp delivery from "sent" to the fate their providers report, applied by a real worker.

Reports arrive as the providers send them: signed, over HTTP, on the live server, at the
path of the public URL the channel page showed."""

import json

import pytest
import requests
from playwright.sync_api import expect

from channels_app.models import ChannelConfig, Delivery
from tests.browser.conftest import log_in, screenshot
from tests.callback_helpers import (
    PUBLIC_URL,
    meta_signature,
    meta_status,
    meta_statuses,
    twilio_signature,
    twilio_status,
)
from tests.conftest import OWNER_PASSWORD, send, wait_until
from tests.fakes_phones import (
    ACCESS_TOKEN,
    ACCOUNT_SID,
    APP_SECRET,
    AUTH_TOKEN,
    FROM,
    PHONE_NUMBER_ID,
    SMS_CONFIG,
    TO,
    VERIFY_TOKEN,
    WHATSAPP_META_CONFIG,
)

pytestmark = pytest.mark.browser

# Generous: the machine running the tests may be busy; nothing here is about speed.
SLOW = 60_000
# 168 GSM-7 characters: more than one SMS (160) holds, so two segments of 153.
LONG_TEXT = "Your code is 123456. " * 8


def shown_callback_url(page, kind: str) -> str:
    return page.locator(f"#callback-{kind} .callback-url").inner_text().strip()


def test_an_owner_sets_up_sms_and_whatsapp_and_is_shown_where_they_report(
    page, owner, public_url, live_server
):
    log_in(page, owner.email, OWNER_PASSWORD)
    page.goto("/channels/")

    # SMS through Twilio: the Twilio fields of the SMS card.
    page.fill("#id_sms-account_sid", ACCOUNT_SID)
    page.fill("#id_sms-auth_token", AUTH_TOKEN)
    page.fill("#id_sms-from", FROM)
    page.get_by_role("button", name="Save SMS").click()

    expect(page.locator(".flash")).to_contain_text("Saved the SMS channel")
    expect(page.locator("#channel-sms .badge-enabled")).to_have_text("configured")
    sms = ChannelConfig.objects.get(kind="sms")
    assert sms.config == SMS_CONFIG
    # The auth token is kept, and never shown again: not in the page, not in its field.
    assert AUTH_TOKEN not in page.content()
    expect(page.locator("#id_sms-auth_token")).to_have_value("")
    expect(page.locator("#channel-sms")).to_contain_text(ACCOUNT_SID)
    # Twilio is told the URL with each message: nothing for the owner to paste.
    callback = f"{PUBLIC_URL}/hooks/providers/twilio/{sms.callback_token}/"
    assert shown_callback_url(page, "sms") == callback
    expect(page.locator("#callback-sms")).to_contain_text("every message oneping sends asks")

    # WhatsApp through Meta's Cloud API.
    page.select_option("#id_whatsapp-provider", "meta")
    page.fill("#id_whatsapp-phone_number_id", PHONE_NUMBER_ID)
    page.fill("#id_whatsapp-access_token", ACCESS_TOKEN)
    page.fill("#id_whatsapp-app_secret", APP_SECRET)
    page.fill("#id_whatsapp-verify_token", VERIFY_TOKEN)
    page.get_by_role("button", name="Save WhatsApp").click()

    expect(page.locator("#channel-whatsapp .badge-enabled")).to_have_text("configured")
    whatsapp = ChannelConfig.objects.get(kind="whatsapp")
    assert whatsapp.config == WHATSAPP_META_CONFIG
    content = page.content()
    for secret in (AUTH_TOKEN, ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret not in content
    # Meta must be given the URL and the verify token: the page says where to paste both.
    url = shown_callback_url(page, "whatsapp")
    assert url == f"{PUBLIC_URL}/hooks/providers/whatsapp/{whatsapp.callback_token}/"
    instructions = page.locator("#callback-whatsapp")
    expect(instructions).to_contain_text("Callback URL")
    expect(instructions).to_contain_text("Verify token")
    expect(instructions.locator("code", has_text="verify_token")).to_have_count(1)
    screenshot(page, "channels-phones")

    # What Meta does with them: the URL answers its challenge with the token typed above.
    challenge = requests.get(
        live_server.url + url.removeprefix(PUBLIC_URL),
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": VERIFY_TOKEN,
        },
        timeout=30,
    )
    assert (challenge.status_code, challenge.text) == (200, "1158201444")


def test_the_message_page_shows_segments_and_the_fates_the_providers_report(
    page,
    owner,
    api,
    sms_channel,
    whatsapp_meta_channel,
    twilio,
    meta,
    public_url,
    live_server,
    celery_worker,
):
    accepted = send(api, LONG_TEXT, channels=["sms", "whatsapp"], recipient=TO)
    ids = {delivery["channel"]: delivery["id"] for delivery in accepted["deliveries"]}
    wait_until(
        lambda: all(Delivery.objects.get(pk=pk).status == "sent" for pk in ids.values()),
        timeout=60,
    )
    log_in(page, owner.email, OWNER_PASSWORD)
    page.goto(f"/messages/{accepted['id']}/")
    sms_card = page.locator(f"[id='{ids['sms']}']")
    whatsapp_card = page.locator(f"[id='{ids['whatsapp']}']")

    # Sent, waiting for the providers' word; the SMS took two segments, WhatsApp has none.
    expect(sms_card.locator("h2")).to_contain_text("Sent")
    expect(sms_card.locator(".segments")).to_have_text("2 segments")
    expect(sms_card.locator(".fate-wait")).to_contain_text("awaiting the provider's report")
    expect(whatsapp_card.locator("h2")).to_contain_text("Sent")
    expect(whatsapp_card.locator(".segments")).to_have_count(0)

    # Twilio reports "delivered", signed over the public URL it was given.
    sid = Delivery.objects.get(pk=ids["sms"]).provider_message_id
    path = sms_channel.callback_path("twilio")
    form = twilio_status(sid, "delivered")
    answer = requests.post(
        live_server.url + path,
        data=form,
        headers={"X-Twilio-Signature": twilio_signature(PUBLIC_URL + path, form, AUTH_TOKEN)},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

    # The page follows by itself while the message is in progress.
    expect(sms_card.locator("h2")).to_contain_text("Delivered", timeout=SLOW)
    expect(sms_card.locator(".timeline")).to_contain_text("Twilio reported delivered")
    expect(sms_card.locator(".segments")).to_have_text("2 segments")
    expect(whatsapp_card.locator("h2")).to_contain_text("Sent")

    # Meta reports "read", signed with the app secret.
    wamid = Delivery.objects.get(pk=ids["whatsapp"]).provider_message_id
    body = json.dumps(meta_statuses(PHONE_NUMBER_ID, meta_status(wamid, "read"))).encode()
    answer = requests.post(
        live_server.url + whatsapp_meta_channel.callback_path("whatsapp"),
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(body, APP_SECRET),
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

    expect(whatsapp_card.locator("h2")).to_contain_text("Read", timeout=SLOW)
    expect(page.locator("#message-body > .card").first).to_contain_text("Delivered")
    screenshot(page, "message-phones")
    # And the page as it is served now, not only as it updated itself.
    page.reload()
    expect(page.locator(f"[id='{ids['sms']}'] h2")).to_contain_text("Delivered")
    expect(page.locator(f"[id='{ids['whatsapp']}'] h2")).to_contain_text("Read")
