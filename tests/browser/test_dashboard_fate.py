"""Email's whole fate in the browser (issue #17): an owner opens the message page of a
bounced email and of one that was opened and clicked, and the overview with each channel's
chart. Sent through the API to the SMTP fake by a real worker; the provider's reports are
stored and applied by that worker (tests/test_dashboard_fate.py)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.conftest import OWNER_PASSWORD
from tests.test_dashboard_fate import (
    BOUNCE_REASON,
    click_url,
    email_channel,
    report,
    sent_emails,
)

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_an_owner_follows_a_bounced_and_a_clicked_email(
    page, account, owner, api, smtp, celery_worker
):
    email_channel(account, smtp)
    bounced, clicked = sent_emails(api, 2)
    report(bounced, "bounced", bounce_type="hard", error_text=BOUNCE_REASON)
    report(clicked, "delivered", "opened", "clicked", "opened")
    log_in(page, owner.email, OWNER_PASSWORD)

    # The bounce: sent, then the failure with its kind and the provider's reason.
    page.goto(f"/messages/{bounced.message_id}/")
    fate = page.locator(f"[id='{bounced.pk}'] .fate")
    expect(fate.locator(".fate-step.reached")).to_have_count(1)
    expect(fate.locator(".fate-step.reached")).to_contain_text("Sent")
    failure = fate.locator(".fate-step.failure")
    expect(failure).to_contain_text("Bounced")
    expect(failure).to_contain_text("hard bounce: the address does not accept mail")
    expect(failure).to_contain_text(BOUNCE_REASON)
    expect(
        page.locator(f"[id='{bounced.pk}']").get_by_role("button", name="Reprocess")
    ).to_be_visible()
    screenshot(page, "message-bounced")

    # Opened and clicked: every step reached, each with its time, and the later open.
    page.goto(f"/messages/{clicked.message_id}/")
    fate = page.locator(f"[id='{clicked.pk}'] .fate")
    steps = fate.locator(".fate-step.reached")
    expect(steps).to_have_count(4)
    for n, label in enumerate(["Sent", "Delivered", "Opened", "Clicked"]):
        expect(steps.nth(n)).to_contain_text(label)
        expect(steps.nth(n).locator("time")).to_contain_text("UTC")
    expect(fate.locator("[data-step=opened]")).to_contain_text("1 more open after the first")
    # The link clicked (the third report's), and the delivery's counts.
    expect(fate.locator("[data-step=clicked] .fate-link")).to_have_text(f"on {click_url(2)}")
    expect(page.locator(f"[id='{clicked.pk}'] .fate-counts")).to_have_text(
        "2 opens and 1 click reported in all"
    )
    expect(fate.locator(".fate-step.failure")).to_have_count(0)
    screenshot(page, "message-clicked")

    # The overview: the email channel's last 30 days, in bars and in words.
    page.goto("/")
    chart = page.locator("#funnel-email svg")
    expect(chart).to_have_attribute(
        "aria-label", "email, last 30 days: 2 sent, 1 delivered, 1 bounced, 1 opened, 1 clicked"
    )
    expect(chart.locator("g[data-stage=sent] text.count")).to_have_text("2")
    expect(chart.locator("g[data-stage=clicked] text.count")).to_have_text("1")
    expect(chart.locator("rect.stage-bounced")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Bounced")  # among the recent failures
    screenshot(page, "overview-fates")
