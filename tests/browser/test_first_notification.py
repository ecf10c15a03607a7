"""A new user goes from sign-up to a delivered message in the browser."""

import re

import pytest
from playwright.sync_api import expect

from channels_app.models import Message
from tests.browser.conftest import screenshot
from tests.conftest import ApiClient, wait_until
from tests.fakes import Canned

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def sign_up(page, email: str) -> None:
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", "a-long-unusual-password")
    page.fill("input[name=password2]", "a-long-unusual-password")
    page.click("button[type=submit]")
    expect(page.locator("#onboarding")).to_be_visible()


def test_sign_up_to_a_delivered_test_message(page, slack, celery_worker):
    sign_up(page, "newcomer@example.com")
    screenshot(page, "overview-onboarding")

    # Step 1: an API key, shown once, that works.
    page.click("#onboarding >> text=Create an API key")
    page.fill("input[name=name]", "laptop")
    page.click("text=Create API key")
    key = page.input_value("#new-key")
    assert key.startswith("op_live_")
    screenshot(page, "keys")
    assert ApiClient(key).get("/api/v1/account").status_code == 200

    # Step 2: Slack, pointing at a local receiver.
    page.goto("/channels/")
    page.fill("#id_slack-webhook_url", f"{slack.url}/services/T000/B000/XXXX")
    page.click("text=Save Slack")
    expect(page.locator("#channel-slack .badge-enabled")).to_have_text("configured")
    screenshot(page, "channels")

    # Step 3: a test, whose result page refreshes itself until the worker is done.
    page.click("#channel-slack >> text=Send test")
    expect(page.locator("#test-result")).to_contain_text("Delivered")
    expect(page.locator("#test-result pre")).to_contain_text("HTTP 200: ok")
    assert "test message" in slack.requests[0].json()["text"].lower()

    # Step 4: it is in the log, delivered.
    page.goto("/messages/")
    expect(page.locator("table")).to_contain_text("Delivered")
    screenshot(page, "messages")
    page.click("table a.mono")
    expect(page.locator(".timeline").first).to_contain_text("delivered")
    screenshot(page, "message-detail")

    page.goto("/")
    expect(page.locator("#onboarding")).to_have_count(0)
    expect(page.locator("body")).to_contain_text(re.compile(r"0 of 100 messages"))
    screenshot(page, "overview")

    # Every other page renders for the new owner (and is pictured in the README).
    for path, heading in [
        ("/webhooks/", "Webhooks"),
        ("/inbound/", "Inbound"),
        ("/team/", "Team"),
        ("/plan/", "Plan"),
        ("/contacts/", "Contacts"),
    ]:
        page.goto(path)
        expect(page.locator("h1")).to_contain_text(heading)
        screenshot(page, path.strip("/"))


def test_a_failed_delivery_is_reprocessed_from_the_failed_page(page, slack, celery_worker):
    sign_up(page, "ops@example.com")
    page.goto("/channels/")
    page.fill("#id_slack-webhook_url", f"{slack.url}/services/T000/B000/XXXX")
    page.click("text=Save Slack")

    slack.default = Canned(404, "no_service")  # the webhook was deleted: permanent
    page.click("#channel-slack >> text=Send test")
    expect(page.locator("#test-result")).to_contain_text("Failed")

    page.goto("/failed/")
    expect(page.locator("body")).to_contain_text("no_service")
    screenshot(page, "failed")

    slack.default = Canned(200, "ok")  # the customer fixed the receiver
    page.locator("button[name=one]").first.click()  # the row's "Reprocess"
    expect(page.locator(".flash")).to_contain_text("Queued 1")
    # The log page does not update itself: load it once the worker has delivered (on a
    # busy machine that can take longer than a page load; a fixed wait was flaky).
    wait_until(lambda: Message.objects.filter(status="delivered").exists(), timeout=60)
    page.goto("/messages/")
    expect(page.locator("table")).to_contain_text("Delivered")
