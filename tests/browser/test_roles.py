"""Roles are enforced on the server, and the pages only offer what a role may do."""

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import ApiKey, Membership, User
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_a_member_cannot_see_the_create_button_nor_post_to_its_url(page, transactional_db):
    _, account = services.create_user_with_account(
        email="owner@example.com", password="owner-password-1", account_name="Acme"
    )
    member = User.objects.create_user(email="member@example.com", password="member-password-1")
    Membership.objects.create(user=member, account=account, role=Membership.Role.MEMBER)
    log_in(page, "member@example.com", "member-password-1")

    page.goto("/keys/")
    expect(page.locator("h1")).to_contain_text("API keys")
    expect(page.get_by_role("button", name="Create API key")).to_have_count(0)

    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post("/keys/new/", form={"csrfmiddlewaretoken": token, "name": "x"})

    assert response.status == 403
    assert "CSRF" not in response.text()  # refused for the role, not for the form
    assert not ApiKey.objects.filter(account=account).exists()
