"""The inbound preview in the browser (issue #18): an owner pastes a Shopify order from the
shop's webhook log on the endpoint's page and sees the two notifications its rules would
send, rendered; nothing is stored or sent."""

import pytest
from playwright.sync_api import expect

from channels_app.models import Message
from tests.browser.conftest import log_in, screenshot
from tests.conftest import OWNER_PASSWORD
from tests.test_inbound_preview import form_headers, shopify_delivery, shopify_endpoint
from webhooks.models import InboundEvent

pytestmark = pytest.mark.browser


def test_an_owner_previews_a_pasted_shopify_order(page, owner, api, channels):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()
    assert b"\n" in body  # pasted with its line breaks, which the browser sends as CRLF

    log_in(page, owner.email, OWNER_PASSWORD)
    page.goto(f"/inbound/{endpoint['id']}/")
    page.get_by_text("Preview a delivery").click()
    page.get_by_label("Headers").fill(form_headers(headers).replace("\r\n", "\n"))
    page.get_by_label("Body").fill(body.decode())
    page.get_by_role("button", name="Preview").click()

    result = page.locator("#preview-result")
    expect(result).to_contain_text("verified")
    expect(result).to_contain_text("Event type: orders/create")
    expect(result).to_contain_text("customer-email → email to john@example.com")
    expect(result).to_contain_text("Thanks John, we got order #1234.")
    expect(result).to_contain_text("sales-slack → slack to sales")
    expect(result).to_contain_text("New order #1234: $403.00")
    screenshot(page, "inbound-preview")
    assert not InboundEvent.objects.exists()
    assert not Message.objects.exists()
