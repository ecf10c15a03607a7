"""POST /api/v1/billing/checkout and /portal against the fake Stripe: what the Checkout
Session carries, who may start one, and every refusal in the JSON error shape."""

import pytest

from accounts import api_keys, environments
from accounts.models import Account, Plan
from tests.conftest import ApiClient
from tests.fakes_stripe import PRICE_PRO, SECRET_KEY
from tests.fixtures_billing import PUBLIC_URL, seed_plans

CHECKOUT = "/api/v1/billing/checkout"
PORTAL = "/api/v1/billing/portal"


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


def test_a_checkout_session_carries_the_account_price_and_urls(api, account, owner, fake_stripe):
    response = api.post_json(CHECKOUT, {"plan": "pro"})

    assert response.status_code == 200, response.content
    assert response.json()["url"].startswith(f"{fake_stripe.url}/pay/cs_test_")
    [form] = fake_stripe.form("/v1/checkout/sessions")
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == PRICE_PRO
    assert form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == account.pk
    assert form["metadata[account_id]"] == account.pk
    assert form["subscription_data[metadata][account_id]"] == account.pk
    assert form["customer_email"] == owner.email
    assert "customer" not in form
    assert form["success_url"] == f"{PUBLIC_URL}/plan/?checkout=success"
    assert form["cancel_url"] == f"{PUBLIC_URL}/plan/?checkout=cancelled"
    [request] = fake_stripe.requests
    assert request.headers["Authorization"] == f"Bearer {SECRET_KEY}"


def test_a_known_customer_is_named_instead_of_an_email(api, account, fake_stripe):
    fake_stripe.customers["cus_known"] = {"id": "cus_known", "object": "customer"}
    Account.objects.filter(pk=account.pk).update(stripe_customer_id="cus_known")

    assert api.post_json(CHECKOUT, {"plan": "business"}).status_code == 200

    [form] = fake_stripe.form("/v1/checkout/sessions")
    assert (form["customer"], form.get("customer_email")) == ("cus_known", None)


@pytest.mark.parametrize(
    ("plan", "code"),
    [("platinum", "unknown_plan"), ("free", "free_plan"), ("", "validation_error")],
)
def test_a_plan_that_is_not_for_sale_is_refused(api, fake_stripe, plan, code):
    assert error(api.post_json(CHECKOUT, {"plan": plan}), 400)["code"] == code
    assert fake_stripe.requests == []


def test_a_plan_that_is_not_public_is_not_sold(api, fake_stripe):
    Plan.objects.create(
        name="enterprise",
        display_name="Enterprise",
        monthly_quota=1_000_000,
        price_amount=99_900,
        stripe_price_id="price_enterprise",
        public=False,
    )

    assert error(api.post_json(CHECKOUT, {"plan": "enterprise"}), 400)["code"] == "unknown_plan"
    assert fake_stripe.requests == []


def test_a_plan_without_a_stripe_price_is_refused(api, fake_stripe, settings):
    settings.STRIPE_PRICE_BUSINESS = ""

    found = error(api.post_json(CHECKOUT, {"plan": "business"}), 400)

    assert found["code"] == "plan_not_for_sale"
    assert "STRIPE_PRICE_BUSINESS" in found["message"]


def test_an_account_with_a_subscription_goes_to_the_portal(api, account, fake_stripe):
    fake_stripe.customers["cus_1"] = {"id": "cus_1", "object": "customer"}
    Account.objects.filter(pk=account.pk).update(
        stripe_customer_id="cus_1", stripe_subscription_id="sub_1", subscription_status="active"
    )

    found = error(api.post_json(CHECKOUT, {"plan": "business"}), 409)

    assert found["code"] == "subscription_exists"
    assert found["details"]["portal_url"].startswith(f"{fake_stripe.url}/portal/bps_test_")
    assert fake_stripe.form("/v1/checkout/sessions") == []


def test_a_key_without_the_admin_scope_cannot_start_a_checkout(account, fake_stripe):
    _, raw = api_keys.issue_key(account, "sender", ["send", "read"])

    found = error(ApiClient(raw).post_json(CHECKOUT, {"plan": "pro"}), 403)

    assert found["code"] == "insufficient_scope"
    assert fake_stripe.requests == []


def test_a_test_mode_key_is_told_billing_is_the_live_accounts(account, fake_stripe):
    _, raw = api_keys.issue_key(environments.test_environment(account), "test")

    for path in (CHECKOUT, PORTAL):
        found = error(ApiClient(raw).post_json(path, {"plan": "pro"}), 403)
        assert found["code"] == "live_account_only"
        assert "live" in found["message"]
    assert fake_stripe.requests == []


def test_without_a_secret_key_billing_answers_503(api, settings, db):
    seed_plans()
    settings.STRIPE_SECRET_KEY = ""

    for path in (CHECKOUT, PORTAL):
        assert error(api.post_json(path, {"plan": "pro"}), 503)["code"] == (
            "billing_not_configured"
        )


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_stripe_refusing_is_a_502_that_never_names_the_key(api, fake_stripe, settings, status):
    fake_stripe.fail_with(status)
    if status == 401:
        fake_stripe.fail_with(None)
        settings.STRIPE_SECRET_KEY = "sk_test_wrong_key_0000"

    response = api.post_json(CHECKOUT, {"plan": "pro"})

    assert error(response, 502)["code"] == "billing_unavailable"
    assert settings.STRIPE_SECRET_KEY.encode() not in response.content


def test_stripe_out_of_reach_is_a_502(api, fake_stripe, settings):
    fake_stripe.stop()

    response = api.post_json(CHECKOUT, {"plan": "pro"})

    assert error(response, 502)["code"] == "billing_unavailable"
    assert SECRET_KEY.encode() not in response.content


def test_the_portal_needs_a_stripe_customer(api, fake_stripe):
    assert error(api.post_json(PORTAL), 409)["code"] == "no_stripe_customer"
    assert fake_stripe.requests == []


def test_each_account_gets_its_own_customers_portal(make_account, make_api_client, fake_stripe):
    first, second = make_account(), make_account()
    for number, account in enumerate((first, second)):
        customer = f"cus_{number}"
        fake_stripe.customers[customer] = {"id": customer, "object": "customer"}
        Account.objects.filter(pk=account.pk).update(stripe_customer_id=customer)

    for number, account in enumerate((first, second)):
        response = make_api_client(account).post_json(PORTAL)
        assert response.status_code == 200, response.content
        assert fake_stripe.form("/v1/billing_portal/sessions")[-1] == {
            "customer": f"cus_{number}",
            "return_url": f"{PUBLIC_URL}/plan/",
        }
    # A third account, with no customer of its own, gets nobody's portal.
    third = make_account()
    assert error(make_api_client(third).post_json(PORTAL), 409)["code"] == "no_stripe_customer"


def test_the_account_shows_its_billing_state(api, account, fake_stripe):
    Account.objects.filter(pk=account.pk).update(subscription_status="active")

    billing = api.get("/api/v1/account").json()["billing"]

    assert billing == {"subscription_status": "active", "cancel_at": None, "payment_problem": False}
