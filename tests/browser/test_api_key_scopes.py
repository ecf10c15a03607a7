"""The keys page: choose a key's scopes, see them on every key."""

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import ApiKey
from tests.conftest import ApiClient

pytestmark = pytest.mark.browser


def test_an_owner_creates_a_key_without_admin_and_sees_its_scopes(page, transactional_db):
    services.create_user_with_account(
        email="owner@example.com", password="owner-password-1", account_name="Acme"
    )
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "owner@example.com")
    page.fill("input[name=password]", "owner-password-1")
    page.click("button[type=submit]")
    expect(page.locator(".mainnav")).to_be_visible()

    page.goto("/keys/")
    page.fill("input[name=name]", "shop server")
    admin_box = page.locator("input[name=scopes][value=admin]")
    expect(admin_box).to_be_checked()  # every scope unless unticked
    admin_box.uncheck()
    page.get_by_role("button", name="Create API key").click()

    raw_key = page.locator("#new-key").input_value()
    row = page.locator("tr", has_text="shop server")
    expect(row.locator(".badge", has_text="send")).to_be_visible()
    expect(row.locator(".badge", has_text="read")).to_be_visible()
    expect(row.locator(".scopes .badge", has_text="admin")).to_have_count(0)
    assert ApiKey.objects.get(name="shop server").scopes == ["send", "read"]
    assert ApiClient(raw_key).get("/api/v1/account/signing-secret").status_code == 403
