"""The suppression list in the browser (issue #17): a recipient's STOP puts their number
on it (Twilio's answer, through a real worker); an owner finds it on the Suppressions page,
filters by the number as people type it, and lifts it, after which the next SMS goes out.
A member reads the page without a Lift button."""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, User
from channels_app.models import Delivery, Suppression
from tests.browser.conftest import log_in, screenshot
from tests.conftest import OWNER_PASSWORD, send, wait_until
from tests.fakes_phones import TO, FakeTwilio

pytestmark = pytest.mark.browser


def test_an_owner_finds_a_stopped_number_and_lifts_it(
    page, owner, api, sms_channel, twilio, live_server, celery_worker
):
    twilio.answer(FakeTwilio.error(21610, "Attempt to send to unsubscribed recipient"))
    first = send(api, "Your code is 123456", channels=["sms"], recipient=TO)
    wait_until(lambda: Suppression.objects.exists(), timeout=60)
    assert Delivery.objects.get(pk=first["deliveries"][0]["id"]).status == "failed"

    log_in(page, owner.email, OWNER_PASSWORD)
    page.get_by_role("link", name="Suppressions").click()
    page.fill("#id_address", "+1 415 555 0199")
    page.get_by_role("button", name="Filter").click()

    row = page.locator("tbody tr", has_text=TO)
    expect(row).to_contain_text("Opt-out")
    expect(row).to_contain_text("the recipient has replied STOP")
    cause = row.get_by_role("link", name=first["deliveries"][0]["id"])
    expect(cause).to_have_attribute("href", f"/messages/{first['id']}/")
    screenshot(page, "suppressions")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Lift").click()

    expect(page.locator(".flash")).to_contain_text(f"the next sms message to {TO} is sent")
    expect(page.locator("tbody")).to_contain_text("No suppressed addresses")
    assert not Suppression.objects.exists()

    again = send(api, "Your code is 654321", channels=["sms"], recipient=TO)
    wait_until(
        lambda: Delivery.objects.get(pk=again["deliveries"][0]["id"]).status == "sent",
        timeout=60,
    )
    assert len(twilio.requests) == 2


def test_a_member_reads_the_list_without_a_lift_button(page, account, make_suppression):
    make_suppression(account, "email", "jane@example.com", description="550 mailbox unknown")
    member = User.objects.create_user(email="member@example.com", password="member-password-1")
    Membership.objects.create(user=member, account=account, role=Membership.Role.MEMBER)

    log_in(page, "member@example.com", "member-password-1")
    page.goto("/suppressions/")

    expect(page.locator("tbody")).to_contain_text("jane@example.com")
    expect(page.locator("tbody")).to_contain_text("550 mailbox unknown")
    expect(page.get_by_role("button", name="Lift")).to_have_count(0)
