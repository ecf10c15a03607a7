"""The billing actions a customer takes: one service each, called by the API
(accounts.billing.views) and the dashboard (accounts.dashboard.plan)."""

import logging

import stripe
from django.http import HttpRequest
from django.urls import reverse

from accounts.billing.client import BillingUnavailable, client
from accounts.models import Account, Membership, Plan, User
from oneping.errors import ServiceError
from oneping.public_url import absolute_url

logger = logging.getLogger(__name__)

# Subscription statuses after which the account has no subscription to manage: a new
# checkout may start (https://docs.stripe.com/api/subscriptions/object#subscription_object-status).
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})


def has_subscription(account: Account) -> bool:
    return bool(account.stripe_subscription_id) and (
        account.subscription_status not in ENDED_STATUSES
    )


def start_checkout(
    account: Account, plan_name: str, user: User | None = None, request: HttpRequest | None = None
) -> str:
    """A Stripe Checkout Session that subscribes `account` to the plan: its URL, where the
    customer pays. The subscription reaches us by webhook (accounts.billing.processing),
    which finds the account by the session's client_reference_id or the subscription's
    metadata. An account with a subscription changes plans in the Billing Portal instead
    (409 subscription_exists, with the portal's URL)."""
    _ensure_live(account)
    stripe_client = client()
    plan = _plan_for_sale(plan_name)
    if has_subscription(account):
        raise ServiceError(
            "subscription_exists",
            "This account already has a subscription: change or cancel it in the billing "
            "portal (details.portal_url).",
            status=409,
            details={"portal_url": open_portal(account, request)},
        )
    params: dict = {
        "mode": "subscription",
        "line_items": [{"price": plan.price_id(), "quantity": 1}],
        "client_reference_id": account.pk,
        "metadata": {"account_id": account.pk, "plan": plan.name},
        # Copied onto the subscription, so its own events name the account too.
        "subscription_data": {"metadata": {"account_id": account.pk}},
        "success_url": _plan_page(request, "checkout=success"),
        "cancel_url": _plan_page(request, "checkout=cancelled"),
    }
    if account.stripe_customer_id:
        params["customer"] = account.stripe_customer_id
    else:
        email = _first_owner_email(account) or (user.email if user else "")
        if email:
            params["customer_email"] = email
    try:
        session = stripe_client.v1.checkout.sessions.create(params)
    except stripe.StripeError as exc:
        logger.warning("Stripe checkout for %s failed: %s", account.pk, type(exc).__name__)
        raise BillingUnavailable(exc) from None
    return session.url


def open_portal(account: Account, request: HttpRequest | None = None) -> str:
    """A Billing Portal session for the account's Stripe customer (card, plan, invoices,
    cancellation): its URL. 409 no_stripe_customer before the first checkout."""
    _ensure_live(account)
    stripe_client = client()
    if not account.stripe_customer_id:
        raise ServiceError(
            "no_stripe_customer",
            "This account has no Stripe customer yet: start a checkout to subscribe first.",
            status=409,
        )
    try:
        session = stripe_client.v1.billing_portal.sessions.create(
            {"customer": account.stripe_customer_id, "return_url": _plan_page(request)}
        )
    except stripe.StripeError as exc:
        logger.warning("Stripe portal for %s failed: %s", account.pk, type(exc).__name__)
        raise BillingUnavailable(exc) from None
    return session.url


def _ensure_live(account: Account) -> None:
    if not account.livemode:
        raise ServiceError(
            "live_account_only",
            "Billing belongs to the live account: use a live API key (op_live_…); a test "
            "key's test environment follows the live account's plan.",
            status=403,
        )


def _plan_for_sale(plan_name: str) -> Plan:
    # Only the public plans are sold: a custom plan (public off) is staff's to give.
    plan = (
        Plan.objects.filter(name=plan_name, public=True).first()
        if isinstance(plan_name, str)
        else None
    )
    if plan is None:
        raise ServiceError("unknown_plan", f"There is no plan {plan_name!r}.", field="plan")
    if not plan.price_amount:
        raise ServiceError(
            "free_plan",
            f"The {plan.display_name} plan costs nothing: cancel the subscription in the "
            "billing portal to move to it.",
            field="plan",
        )
    if not plan.price_id():
        raise ServiceError(
            "plan_not_for_sale",
            f"The {plan.display_name} plan has no Stripe price yet; staff set one in the "
            f"admin or in STRIPE_PRICE_{plan.name.upper()}.",
            field="plan",
        )
    return plan


def _first_owner_email(account: Account) -> str:
    owner = (
        Membership.objects.filter(account=account, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("created_at", "pk")
        .first()
    )
    return owner.user.email if owner else ""


def _plan_page(request: HttpRequest | None, query: str = "") -> str:
    path = reverse("dashboard-plan") + (f"?{query}" if query else "")
    return absolute_url(path, request) or path
