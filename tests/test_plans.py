"""Plans as data (issue #21, first slice): every cap is the account's plan's, so a plan
change applies at once; the seeded plans; GET /plans and the plan in GET /account; the
admin; the dashboard's plans table. A test environment follows its live account's plan and
counts its own rows apart."""

import html
import importlib

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from accounts import api_keys, environments, invitations
from accounts.models import Account, Membership, Plan
from tests.conftest import ApiClient, set_caps

WEBHOOK = {"url": "https://receiver.example/hooks", "description": "ops"}
SEEDED = {
    # name: (display, cents, quota, rate, webhook endpoints, inbound endpoints, keys, members)
    "free": ("Free", 0, 100, 600, 20, 20, 50, 5),
    "pro": ("Pro", 900, 10_000, 1_200, 50, 50, 100, 20),
    "business": ("Business", 2900, 50_000, 3_000, 200, 200, 500, 100),
}


def seed() -> None:
    """Run migration 0007's seeding: a transactional test elsewhere may have flushed the
    rows the migration made, and this is the function under test anyway."""
    migration = importlib.import_module("accounts.migrations.0007_plans_as_data")
    migration.seed_plans(django_apps, None)


@pytest.fixture
def plans(db) -> dict[str, Plan]:
    seed()
    return {plan.name: plan for plan in Plan.objects.all()}


def move_to(account: Account, plan: Plan) -> None:
    """Change the plan as the admin does: a save, which the test environment follows."""
    account.plan = plan
    account.save()


def create_key(client: ApiClient):
    return client.post_json("/api/v1/api-keys", {"name": "k", "scopes": ["read"]})


def test_the_migration_seeds_free_pro_and_business(plans):
    for name, expected in SEEDED.items():
        plan = plans[name]
        assert (
            plan.display_name,
            plan.price_amount,
            plan.monthly_quota,
            plan.api_requests_per_minute,
            plan.max_webhook_endpoints,
            plan.max_inbound_endpoints,
            plan.max_api_keys,
            plan.max_members,
        ) == expected
        assert (plan.price_currency, plan.public, plan.stripe_price_id) == ("usd", True, "")


def test_the_seed_keeps_a_deployments_former_cap_settings_and_edited_free_quota(db, monkeypatch):
    Plan.objects.filter(name="free").update(monthly_quota=250)
    monkeypatch.setenv("ONEPING_MAX_API_KEYS", "7")
    monkeypatch.setenv("ONEPING_MAX_WEBHOOK_ENDPOINTS", "3")

    seed()

    free = Plan.objects.get(name="free")
    assert (free.max_api_keys, free.max_webhook_endpoints, free.max_inbound_endpoints) == (7, 3, 20)
    assert free.monthly_quota == 250
    assert Plan.objects.get(name="pro").max_api_keys == 100


def test_a_plan_change_applies_the_new_cap_at_once(api, account, plans):
    set_caps(account, max_api_keys=2)  # the fixture's key is the first
    assert create_key(api).status_code == 201
    assert create_key(api).json()["error"]["code"] == "limit_reached"

    move_to(account, plans["pro"])

    assert create_key(api).status_code == 201
    # And down again: back on free (2 keys) with 3 active, the next one is refused.
    move_to(account, Plan.objects.get(name="free"))
    refused = create_key(api)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"limit": 2, "resource": "api_keys"}


def test_editing_the_plan_applies_to_its_accounts_at_once(api, account):
    set_caps(account, max_webhook_endpoints=1)
    assert api.post_json("/api/v1/webhook-endpoints", WEBHOOK).status_code == 201
    assert api.post_json("/api/v1/webhook-endpoints", WEBHOOK).status_code == 400

    set_caps(account, max_webhook_endpoints=2)

    assert api.post_json("/api/v1/webhook-endpoints", WEBHOOK).status_code == 201


def test_the_test_environment_follows_the_plan_and_counts_apart(account, plans):
    test = environments.test_environment(account)
    move_to(account, plans["pro"])
    set_caps(account, max_api_keys=1)

    live_key, _ = api_keys.issue_key(account, "live")
    test_key, _ = api_keys.issue_key(test, "test")  # the live key does not count here

    assert Account.objects.get(pk=test.pk).plan_id == plans["pro"].pk
    with pytest.raises(api_keys.ServiceError):
        api_keys.issue_key(test, "one too many")
    assert {live_key.account_id, test_key.account_id} == {account.pk, test.pk}


def test_the_member_cap_counts_pending_invitations(account, owner):
    set_caps(account, max_members=3)  # the owner, one member, one invitation
    Membership.objects.create(
        user=type(owner).objects.create_user(email="m@example.com", password="x-y-z-1-2-3"),
        account=account,
    )
    invitations.create_invitation(account, "first@example.com", "member", owner)
    # Inviting the same address again replaces its invitation: no room needed.
    invitations.create_invitation(account, "first@example.com", "admin", owner)

    with pytest.raises(invitations.TeamError, match="3 members and pending invitations"):
        invitations.create_invitation(account, "second@example.com", "member", owner)


def test_accepting_past_a_lowered_member_cap_is_refused(account, owner, django_user_model):
    invitation, _ = invitations.create_invitation(account, "new@example.com", "member", owner)
    set_caps(account, max_members=1)
    newcomer = django_user_model.objects.create_user(email="new@example.com", password="x-1-y-2")

    with pytest.raises(invitations.TeamError):
        invitations.accept_invitation(invitation, newcomer)

    assert not Membership.objects.filter(user=newcomer).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None  # still usable once there is room
    set_caps(account, max_members=2)
    assert invitations.accept_invitation(invitation, newcomer).account == account


def test_plans_lists_the_public_plans_cheapest_first(account, plans):
    Plan.objects.create(name="internal", display_name="Internal", monthly_quota=1, public=False)
    _, read_only = api_keys.issue_key(account, "reader", ["read"])

    response = ApiClient(read_only).get("/api/v1/plans")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [plan["name"] for plan in body] == ["free", "pro", "business"]
    assert body[1] == {
        "name": "pro",
        "display_name": "Pro",
        "price": {"amount": 900, "currency": "usd"},
        "monthly_quota": 10_000,
        "limits": {
            "api_requests_per_minute": 1_200,
            "webhook_endpoints": 50,
            "inbound_endpoints": 50,
            "api_keys": 100,
            "members": 20,
        },
    }


def test_plans_without_a_key_is_a_json_401(anonymous_api, plans):
    response = anonymous_api.get("/api/v1/plans")

    assert response.status_code == 401
    assert response.json()["error"]["code"]


def test_the_account_shows_its_plans_price_and_limits(api, account, plans):
    move_to(account, plans["business"])

    plan = api.get("/api/v1/account").json()["plan"]

    assert plan["name"] == "business"
    assert plan["price"] == {"amount": 2900, "currency": "usd"}
    assert plan["limits"]["members"] == 100
    assert api.get("/api/v1/plans").json()[2] == plan  # the same serializer


def test_the_price_id_is_the_admins_field_else_the_setting(plans, settings):
    settings.STRIPE_PRICE_PRO = "price_from_settings"
    settings.STRIPE_PRICE_BUSINESS = ""

    assert plans["pro"].price_id() == "price_from_settings"
    assert plans["business"].price_id() == ""
    assert plans["free"].price_id() == ""
    plans["pro"].stripe_price_id = "price_from_admin"
    assert plans["pro"].price_id() == "price_from_admin"


def admin_form(plan: Plan, **changes) -> dict:
    data = {
        "display_name": plan.display_name,
        "public": "on" if plan.public else "",
        "price_amount": plan.price_amount,
        "price_currency": plan.price_currency,
        "stripe_price_id": plan.stripe_price_id,
        "monthly_quota": plan.monthly_quota,
        "api_requests_per_minute": plan.api_requests_per_minute,
        "max_webhook_endpoints": plan.max_webhook_endpoints,
        "max_inbound_endpoints": plan.max_inbound_endpoints,
        "max_api_keys": plan.max_api_keys,
        "max_members": plan.max_members,
    }
    return {**data, **changes}


def test_staff_edit_a_plan_in_the_admin_and_it_applies(admin_client, api, account, plans):
    free = plans["free"]
    url = f"/admin/accounts/plan/{free.pk}/change/"

    saved = admin_client.post(url, admin_form(free, max_api_keys=1, stripe_price_id="price_1"))

    assert saved.status_code == 302, saved.content
    free.refresh_from_db()
    assert (free.max_api_keys, free.price_id()) == (1, "price_1")
    assert create_key(api).json()["error"]["code"] == "limit_reached"


def test_the_admin_refuses_a_zero_cap_a_bad_currency_and_a_bad_price_id(admin_client, plans):
    free = plans["free"]
    url = f"/admin/accounts/plan/{free.pk}/change/"

    response = admin_client.post(
        url, admin_form(free, max_members=0, price_currency="us1", stripe_price_id="prod_1")
    )

    assert response.status_code == 200  # the form again, with its errors
    text = html.unescape(response.content.decode())
    assert "Must be at least 1." in text
    assert "A three-letter ISO 4217 code" in text
    assert "starts with price_" in text
    free.refresh_from_db()
    assert (free.max_members, free.price_currency) == (5, "usd")


def test_the_dashboard_plan_page_lists_the_plans_and_marks_the_current(owner_client, plans):
    response = owner_client.get("/plan/")

    text = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Billing is not configured; staff change plans in the admin" in text
    table = text[text.index('id="plans"') :]
    assert table.index("Free") < table.index("Pro") < table.index("Business")
    assert "9 USD a month" in table and "29 USD a month" in table
    current = table[table.index('aria-current="true"') :]
    row = current.split("</tr>")[0]
    assert "Free" in row and "Current plan" in row
    assert text.count('<span class="badge">Current plan') == 1


def test_the_accept_page_says_the_account_is_full_and_the_link_stays_valid(
    client, account, owner, django_user_model
):
    invitation, token = invitations.create_invitation(account, "new@example.com", "member", owner)
    set_caps(account, max_members=1)
    client.force_login(django_user_model.objects.create_user(email="new@example.com"))

    response = client.post(reverse("dashboard-invite-accept", args=[token]))

    assert response.status_code == 409
    assert "has 1 members, its plan's limit" in html.unescape(response.content.decode())
    assert invitations.find_invitation(token) == invitation
