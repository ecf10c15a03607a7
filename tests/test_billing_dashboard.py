"""The plan page's billing (accounts/dashboard/plan.py): upgrade buttons for owners and
admins, "Manage billing" with a subscription, nothing for members, "not configured"
without a Stripe key, "ends on …" while cancelling; the admin's plan edit and Stripe events."""

import html

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import environments
from accounts.models import Account, Membership, Plan, StripeEvent
from tests.conftest import wait_until
from tests.fakes_stripe import event
from tests.fixtures_billing import seed_plans

UPGRADE = "Upgrade to"


def page(client, path: str = "/plan/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def subscribed(account: Account, fake, **fields) -> None:
    fake.customers["cus_1"] = {"id": "cus_1", "object": "customer"}
    values = {
        "stripe_customer_id": "cus_1",
        "stripe_subscription_id": "sub_1",
        "subscription_status": "active",
        **fields,
    }
    Account.objects.filter(pk=account.pk).update(plan=Plan.objects.get(name="pro"), **values)


def test_an_owner_upgrades_from_the_plan_page_through_stripe(owner_client, account, fake_stripe):
    text = page(owner_client)
    assert "Upgrade to Pro" in text and "Upgrade to Business" in text
    assert "Upgrade to Free" not in text
    assert "Manage billing" not in text

    response = owner_client.post(reverse("dashboard-plan-checkout"), {"plan": "pro"})

    assert response.status_code == 303
    assert response["Location"].startswith(f"{fake_stripe.url}/pay/cs_test_")
    [form] = fake_stripe.form("/v1/checkout/sessions")
    assert form["client_reference_id"] == account.pk


def test_an_admin_may_upgrade_too(client, make_member, fake_stripe):
    client.force_login(make_member(Membership.Role.ADMIN).user)
    assert UPGRADE in page(client)
    assert client.post(reverse("dashboard-plan-checkout"), {"plan": "pro"}).status_code == 303


def test_a_member_sees_no_button_and_cannot_start_a_checkout(member_client, fake_stripe):
    assert UPGRADE not in page(member_client)
    assert "Manage billing" not in page(member_client)

    for name in ("dashboard-plan-checkout", "dashboard-plan-portal"):
        assert member_client.post(reverse(name), {"plan": "pro"}).status_code == 403
    assert fake_stripe.requests == []


def test_with_a_subscription_the_page_offers_the_portal(owner_client, account, fake_stripe):
    subscribed(account, fake_stripe)

    text = page(owner_client)
    assert "Manage billing" in text
    assert UPGRADE not in text
    response = owner_client.post(reverse("dashboard-plan-portal"))

    assert response.status_code == 303
    assert response["Location"].startswith(f"{fake_stripe.url}/portal/bps_test_")
    assert fake_stripe.form("/v1/billing_portal/sessions")[0]["customer"] == "cus_1"


def test_a_cancelling_subscription_says_when_it_ends(owner_client, account, fake_stripe):
    ends = timezone.now().replace(day=28)
    subscribed(account, fake_stripe, subscription_cancel_at=ends)

    text = page(owner_client)

    assert f"Your subscription ends on 28 {ends:%B %Y}" in text
    assert "the account then moves to the Free plan" in text


def test_without_a_stripe_key_the_page_says_billing_is_not_configured(owner_client, settings, db):
    seed_plans()
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PRICE_PRO = "price_1"

    text = page(owner_client)

    assert "Billing is not configured; staff change plans in the admin" in text
    assert UPGRADE not in text
    assert "Manage billing" not in text


def test_in_test_mode_the_page_is_about_the_live_account(owner_client, account, fake_stripe):
    environments.test_environment(account)
    owner_client.post(reverse("dashboard-test-mode"), {"on": "1", "next": "/plan/"})

    assert UPGRADE in page(owner_client)
    response = owner_client.post(reverse("dashboard-plan-checkout"), {"plan": "business"})

    assert response.status_code == 303
    assert fake_stripe.form("/v1/checkout/sessions")[0]["client_reference_id"] == account.pk


def test_stripe_down_from_the_dashboard_is_a_message_not_an_error(owner_client, fake_stripe):
    fake_stripe.fail_with(500)

    response = owner_client.post(reverse("dashboard-plan-checkout"), {"plan": "pro"}, follow=True)

    assert response.status_code == 200
    assert "Stripe could not be reached" in html.unescape(response.content.decode())


def test_the_payment_banner_is_on_every_page_with_the_portal_for_admins(
    owner_client, member_client, account, fake_stripe
):
    subscribed(account, fake_stripe, payment_problem=True)

    for path in ("/plan/", "/messages/", "/team/"):
        assert 'id="payment-banner"' in page(owner_client, path)
    assert "Update the card in the billing portal" in page(owner_client)
    member_page = page(member_client)
    assert 'id="payment-banner"' in member_page
    assert "Update the card in the billing portal" not in member_page


def test_the_admins_plan_edit_changes_the_plan_as_billing_does(admin_client, account, db):
    seed_plans()
    test = environments.test_environment(account)
    pro = Plan.objects.get(name="pro")
    url = reverse("admin:accounts_account_change", args=[account.pk])
    form = {
        "name": account.name,
        "slug": account.slug,
        "plan": pro.pk,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Account.objects.get(pk=account.pk).plan == pro
    assert Account.objects.get(pk=test.pk).plan == pro  # the test environment follows


@pytest.mark.worker
def test_the_admin_lists_stripe_events_and_reprocesses_them(
    admin_client, fake_stripe, celery_worker
):
    row = StripeEvent.objects.create(
        stripe_id="evt_1", type="invoice.paid", payload=event("invoice.paid", {"id": "in_1"})
    )

    listing = admin_client.get(reverse("admin:accounts_stripeevent_changelist"))
    assert listing.status_code == 200 and "evt_1" in listing.content.decode()
    admin_client.post(
        reverse("admin:accounts_stripeevent_changelist"),
        {"action": "reprocess", "_selected_action": [row.pk]},
    )

    wait_until(lambda: StripeEvent.objects.get(pk=row.pk).processed_at is not None, timeout=30)


def test_an_upgrade_from_a_stale_page_with_a_subscription_lands_in_the_portal(
    owner_client, account, fake_stripe
):
    subscribed(account, fake_stripe)

    response = owner_client.post(reverse("dashboard-plan-checkout"), {"plan": "business"})

    assert response.status_code == 303
    assert response["Location"].startswith(f"{fake_stripe.url}/portal/")
    assert fake_stripe.form("/v1/checkout/sessions") == []


def test_an_account_put_on_business_by_staff_is_offered_a_switch_to_pro(
    owner_client, account, fake_stripe
):
    Account.objects.filter(pk=account.pk).update(plan=Plan.objects.get(name="business"))

    text = page(owner_client)

    assert "Switch to Pro" in text
    assert UPGRADE not in text
