"""Test mode in the browser (issue #20): the top bar's switch, the banner, a test key made on
the keys page and listed under test keys, and each mode's message log showing its own
messages only."""

import re

import pytest
from playwright.sync_api import expect

from accounts import api_keys, environments, services
from channels_app.models import ChannelConfig
from tests.browser.conftest import log_in, screenshot
from tests.conftest import ApiClient, send
from tests.hostile.objects import SLACK_URL

pytestmark = pytest.mark.browser

BANNER = "you are looking at test data; nothing reaches real recipients"


def test_test_mode_switch_keys_and_message_logs(page, transactional_db):
    _, account = services.create_user_with_account(
        email="owner@example.com", password="owner-password-1", account_name="Acme"
    )
    # A channel in each environment, so the sends are accepted with or without the
    # simulator's unconfigured channels; no worker runs, so none is attempted.
    for environment in (account, environments.test_environment(account)):
        ChannelConfig.objects.create(
            account=environment, kind="slack", config={"webhook_url": SLACK_URL}
        )
    log_in(page, "owner@example.com", "owner-password-1")
    switch = page.get_by_role("switch", name="Test mode")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(page.locator("#test-mode-banner")).to_have_count(0)

    # Switch on: the banner shows, on this page and the next.
    page.goto("/keys/")
    page.get_by_role("switch", name="Test mode").click()
    expect(page).to_have_url(re.compile(r"/keys/$"))  # back on the page it was switched on
    expect(page.locator("#test-mode-banner")).to_contain_text(BANNER)
    expect(page.get_by_role("switch", name="Test mode")).to_have_attribute("aria-checked", "true")

    # A test key (the form offers test first in test mode), listed under test keys.
    page.fill("input[name=name]", "ci test key")
    expect(page.locator("input[name=mode][value=test]")).to_be_checked()
    page.get_by_role("button", name="Create API key").click()
    test_key = page.locator("#new-key").input_value()
    assert test_key.startswith("op_test_")
    expect(page.locator("#test-keys-table")).to_contain_text("ci test key")
    expect(page.locator("#live-keys-table")).not_to_contain_text("ci test key")
    screenshot(page, "keys-test-mode")

    # A message sent with it is in test mode's log; one sent with a live key is not.
    _, live_key = api_keys.issue_key(account, "live server")
    test_message = send(ApiClient(test_key), "test order shipped")["id"]
    live_message = send(ApiClient(live_key), "live order shipped")["id"]
    page.goto("/messages/")
    expect(page.locator("#test-mode-banner")).to_be_visible()
    expect(page.locator("table")).to_contain_text(test_message)
    expect(page.locator("table")).not_to_contain_text(live_message)
    screenshot(page, "messages-test-mode")

    # The banner's link: the magic recipients, from the simulator's table.
    page.locator("#test-mode-banner").get_by_role("link", name="magic recipients").click()
    expect(page.locator("h1")).to_have_text("Magic recipients")
    expect(page.locator("#magic-email")).to_contain_text("bounced@sim.oneping.test")

    # Switch off: no banner, and the live log shows the live message only.
    page.goto("/messages/")
    page.get_by_role("switch", name="Test mode").click()
    expect(page.locator("#test-mode-banner")).to_have_count(0)
    expect(page.get_by_role("switch", name="Test mode")).to_have_attribute("aria-checked", "false")
    expect(page.locator("table")).to_contain_text(live_message)
    expect(page.locator("table")).not_to_contain_text(test_message)
    page.goto("/keys/")
    expect(page.locator("#test-keys-table")).to_contain_text("ci test key")
    expect(page.locator("input[name=mode][value=live]")).to_be_checked()
