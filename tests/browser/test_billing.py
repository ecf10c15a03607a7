"""An owner upgrades in the browser: "Upgrade to Pro" → Stripe's Checkout page (the fake's,
which completes the payment and sends the signed events to the app) → back on the plan
page, which shows Pro once the worker has applied the events."""

import re

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import Account
from tests.browser.conftest import log_in, screenshot
from tests.fixtures_billing import WEBHOOK_PATH

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# The worker applies the events a moment after Stripe's redirect: reload until it has.
PLAN_SHOWN_WITHIN_MS = 60_000


def test_an_owner_upgrades_to_pro_through_stripe_checkout(
    page, live_server, fake_stripe, settings, celery_worker
):
    settings.ONEPING_PUBLIC_URL = live_server.url
    fake_stripe.webhook_url = f"{live_server.url}{WEBHOOK_PATH}"
    _, account = services.create_user_with_account(
        email="owner@example.com", password="owner-password-1", account_name="Acme"
    )
    log_in(page, "owner@example.com", "owner-password-1")
    page.goto("/plan/")
    expect(page.locator("#plans tr.current")).to_contain_text("Free")

    page.get_by_role("button", name="Upgrade to Pro").click()

    expect(page).to_have_url(re.compile(r"/plan/\?checkout=success$"))
    expect(page.locator("#checkout-done")).to_be_visible()
    assert [response.status_code for response in fake_stripe.delivered] == [200, 200]
    current = page.locator("#plans tr.current")
    for _ in range(PLAN_SHOWN_WITHIN_MS // 500):
        if "Pro" in current.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(current).to_contain_text("Pro")
    expect(page.get_by_role("button", name="Manage billing")).to_be_visible()
    expect(page.get_by_role("button", name="Upgrade to Business")).to_have_count(0)
    assert Account.objects.get(pk=account.pk).plan.name == "pro"
    screenshot(page, "plan-after-upgrade")
