"""Billing's fixtures (accounts/billing/): the fake Stripe with the settings pointing at
it, the seeded plans with their Stripe prices, and helpers that post signed events."""

import importlib
import json
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client

from accounts.models import Account, MonthlyUsage, StripeEvent
from accounts.usage import billing_period
from tests.conftest import serving, wait_until
from tests.fakes_stripe import PRICE_BUSINESS, PRICE_PRO, SECRET_KEY, WEBHOOK_SECRET, sign

WEBHOOK_PATH = "/billing/stripe/webhook/"
PUBLIC_URL = "https://oneping.example"


def seed_plans() -> None:
    """Migration 0007's plans: a transactional test's flush removes the migration's rows."""
    migration = importlib.import_module("accounts.migrations.0007_plans_as_data")
    migration.seed_plans(django_apps, None)


@pytest.fixture
def fake_stripe(db, settings):
    """Stripe on loopback, billing configured against it, pro and business for sale."""
    from tests.fakes_stripe import FakeStripe

    seed_plans()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_PRO = PRICE_PRO
    settings.STRIPE_PRICE_BUSINESS = PRICE_BUSINESS
    settings.ONEPING_PUBLIC_URL = PUBLIC_URL
    yield from serving(FakeStripe(), settings, "STRIPE_API_BASE")


def post_event(
    payload: dict[str, Any], *, secret: str = WEBHOOK_SECRET, signature: str | None = None
):
    """POST a Stripe event to our webhook, signed as Stripe signs (or with `signature`)."""
    body = json.dumps(payload).encode()
    return Client().post(
        WEBHOOK_PATH,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature if signature is not None else sign(body, secret),
    )


def deliver(payload: dict[str, Any]) -> StripeEvent:
    """Post the event, expect 200, and wait for the worker to have processed it."""
    response = post_event(payload)
    assert response.status_code == 200, response.content
    return wait_until(
        lambda: (
            StripeEvent.objects.filter(stripe_id=payload["id"], processed_at__isnull=False)
            .select_related("account")
            .first()
        ),
        timeout=30,
    )


def checkout(api, fake, plan: str = "pro") -> str:
    """Start a checkout through the API: the session id at the fake."""
    response = api.post_json("/api/v1/billing/checkout", {"plan": plan})
    assert response.status_code == 200, response.content
    return response.json()["url"].rsplit("/", 1)[1]


def subscribe(api, fake, plan: str = "pro") -> str:
    """A whole upgrade: checkout, payment, Stripe's two events processed. The subscription id."""
    session_id = checkout(api, fake, plan)
    fake.complete_checkout(session_id)
    for payload in fake.checkout_events(session_id):
        deliver(payload)
    return fake.sessions[session_id]["subscription"]


def use(account: Account, used: int) -> None:
    """This month's count, as if `used` messages had been accepted."""
    MonthlyUsage.objects.update_or_create(
        account=account, period_start=billing_period()[0].date(), defaults={"used": used}
    )


def plan_of(account: Account) -> str:
    return Account.objects.select_related("plan").get(pk=account.pk).plan.name
