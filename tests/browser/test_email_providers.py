"""The email channel's providers in the browser (issue #17): an owner picks Postmark on the
channel page, sees only Postmark's fields, saves it, and finds the token kept but never
shown again; then a message sent through it reaches the (fake) Postmark through a real
worker."""

import pytest
from playwright.sync_api import expect

from channels_app.models import ChannelConfig, Delivery
from tests.browser.conftest import log_in, screenshot
from tests.conftest import OWNER_PASSWORD, send, wait_until
from tests.fakes_email import FROM, POSTMARK_CONFIG, POSTMARK_TOKEN, TO

pytestmark = pytest.mark.browser


def field(page, name: str):
    """A field of the email form, by its name (its wrapper is what is shown or hidden)."""
    return page.locator(f"#channel-email .field:has(#id_email-{name})")


def test_an_owner_sets_up_postmark_and_sends_through_it(
    page, owner, api, postmark, live_server, celery_worker
):
    log_in(page, owner.email, OWNER_PASSWORD)
    page.goto("/channels/")

    # oneping's own mail needs no field; SMTP shows the server's.
    expect(field(page, "provider")).to_be_visible()
    expect(field(page, "host")).to_be_hidden()
    expect(field(page, "from_email")).to_be_hidden()
    page.select_option("#id_email-provider", "smtp")
    expect(field(page, "host")).to_be_visible()
    expect(field(page, "server_token")).to_be_hidden()

    # Postmark: its token and the sender, nothing of SMTP's or the others'.
    page.select_option("#id_email-provider", "postmark")
    for name in ("server_token", "from_email", "track_opens", "track_clicks"):
        expect(field(page, name)).to_be_visible()
    for name in ("host", "password", "api_key", "sender_domain", "webhook_secret"):
        expect(field(page, name)).to_be_hidden()
    page.fill("#id_email-server_token", POSTMARK_TOKEN)
    page.fill("#id_email-from_email", FROM)
    page.check("#id_email-track_opens")
    screenshot(page, "channels-email-postmark")
    page.get_by_role("button", name="Save Email").click()

    expect(page.locator(".flash")).to_contain_text("Saved the Email channel")
    expect(page.locator("#channel-email .badge-enabled")).to_have_text("configured")
    channel = ChannelConfig.objects.get(kind="email")
    assert channel.config == {**POSTMARK_CONFIG, "track_opens": True, "track_clicks": False}
    # Saved and chosen again on the page; the token is masked and never in the page.
    expect(page.locator("#id_email-provider")).to_have_value("postmark")
    expect(field(page, "server_token")).to_be_visible()
    expect(page.locator("#id_email-server_token")).to_have_value("")
    expect(field(page, "server_token")).to_contain_text(f"Saved (…{POSTMARK_TOKEN[-4:]})")
    expect(page.locator("#channel-email")).to_contain_text(f"…{POSTMARK_TOKEN[-4:]}")
    assert POSTMARK_TOKEN not in page.content()

    accepted = send(api, "Order **#42** shipped", channels=["email"], recipient=TO)
    delivery_id = accepted["deliveries"][0]["id"]
    delivery = wait_until(
        lambda: Delivery.objects.filter(pk=delivery_id, status="sent").first(), timeout=60
    )

    [request] = postmark.requests
    assert request.headers["X-Postmark-Server-Token"] == POSTMARK_TOKEN
    assert request.json()["TrackOpens"] is True
    assert delivery.provider_message_id
