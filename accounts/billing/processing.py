"""A stored Stripe event applied to its account (in a worker: accounts.tasks).

Idempotent by Stripe's event id: a row is processed once (processed_at), under a row
lock, so a redelivery or a second task changes nothing. Stripe does not deliver events in
order (https://docs.stripe.com/webhooks#event-ordering), so subscription and checkout
events are not applied from their payload: the subscription is read again from Stripe and
ITS current state is applied. An old `customer.subscription.updated` arriving after a
newer one therefore applies the newest state, not its own. The read happens while the
account's row is locked, so two events of one account apply one after the other and the
later read wins.

What each subscription status means for the account
(https://docs.stripe.com/api/subscriptions/object#subscription_object-status):
active, trialing → the plan of the subscription's price (and "ends on …" while it is set
to cancel); past_due, incomplete → plan kept, payment banner, email to owners and admins;
incomplete_expired → nothing changes (the first payment never succeeded); canceled,
unpaid, paused → free.
"""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import services
from accounts.billing import emails
from accounts.billing.client import BillingUnavailable, client
from accounts.billing.receiving import enqueue
from accounts.billing.services import has_subscription
from accounts.models import Account, Plan, StripeEvent

logger = logging.getLogger(__name__)

PAID_STATUSES = frozenset({"active", "trialing"})
PAYMENT_PROBLEM_STATUSES = frozenset({"past_due", "incomplete"})
FREE_STATUSES = frozenset({"canceled", "unpaid", "paused"})
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
CHECKOUT_COMPLETED = "checkout.session.completed"
INVOICE_PAID = "invoice.paid"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
BILLING_FIELDS = [
    "stripe_customer_id",
    "stripe_subscription_id",
    "subscription_status",
    "subscription_cancel_at",
    "payment_problem",
]


def process(event_id: int) -> None:
    """Apply the stored event `event_id` once; its error is kept on the row (and raised,
    so the task retries when Stripe could not be reached)."""
    try:
        with transaction.atomic():
            event = StripeEvent.objects.select_for_update().filter(pk=event_id).first()
            if event is None or event.processed_at is not None:
                return
            event.account, event.error = _apply(event)
            event.processed_at = timezone.now()
            event.save(update_fields=["account", "error", "processed_at"])
    except Exception as exc:
        StripeEvent.objects.filter(pk=event_id).update(error=_describe(exc))
        if not isinstance(exc, BillingUnavailable):
            logger.exception("Stripe event %s: unexpected error", event_id)
        raise


def _describe(exc: Exception) -> str:
    if isinstance(exc, BillingUnavailable):
        return f"{exc.message} ({exc.details.get('stripe_error')})"
    return f"Internal error: {type(exc).__name__}"


def _apply(event: StripeEvent) -> tuple[Account | None, str]:
    """(the account the event is about, a note when nothing could be applied)."""
    data: dict[str, Any] = event.payload.get("data", {}).get("object", {})
    account = _find_account(event.type, data)
    handled = event.type in SUBSCRIPTION_EVENTS | {
        CHECKOUT_COMPLETED,
        INVOICE_PAID,
        INVOICE_PAYMENT_FAILED,
    }
    if not handled:
        return account, ""
    if account is None:
        return None, f"No account has this {data.get('object', 'object')} ({data.get('id')})."
    # One event of an account at a time: the later one reads the later state from Stripe.
    account = Account.objects.select_for_update().select_related("plan").get(pk=account.pk)
    try:
        if event.type == CHECKOUT_COMPLETED:
            if data.get("mode") != "subscription" or not data.get("subscription"):
                return account, "Not a subscription checkout: nothing to apply."
            account.stripe_customer_id = _id(data.get("customer")) or account.stripe_customer_id
            _sync_subscription(account, _id(data["subscription"]))
        elif event.type in SUBSCRIPTION_EVENTS:
            _sync_subscription(account, data["id"])
        else:
            _apply_invoice(account, event.type, data)
    except SubscriptionMissing as exc:
        return account, str(exc)
    account.save(update_fields=BILLING_FIELDS)
    return account, ""


class SubscriptionMissing(Exception):
    """Stripe answers 404 for the subscription (another Stripe account's, or sandbox's,
    event): nothing to apply, and retrying would not change that."""


def _find_account(event_type: str, data: dict[str, Any]) -> Account | None:
    """The live account an event is about: a checkout's client_reference_id (our account
    id), a subscription's id or metadata (set at checkout), else the customer's id."""
    live = Account.objects.filter(livemode=True)
    candidates: list[dict[str, Any]] = []
    if event_type == CHECKOUT_COMPLETED:
        candidates.append({"pk": data.get("client_reference_id") or ""})
        candidates.append({"pk": (data.get("metadata") or {}).get("account_id") or ""})
    elif event_type in SUBSCRIPTION_EVENTS:
        candidates.append({"stripe_subscription_id": data.get("id") or ""})
        candidates.append({"pk": (data.get("metadata") or {}).get("account_id") or ""})
    candidates.append({"stripe_customer_id": _id(data.get("customer"))})
    for lookup in candidates:
        if all(lookup.values()):
            found = live.filter(**lookup).first()
            if found is not None:
                return found
    return None


def _apply_invoice(account: Account, event_type: str, invoice: dict[str, Any]) -> None:
    """invoice.payment_failed → the banner (and an email); invoice.paid → no banner. For a
    subscription's invoice the subscription's own state decides, read again from Stripe:
    a failure turns it past_due (incomplete for the first payment), a payment makes it
    active again (https://docs.stripe.com/billing/subscriptions/overview#payment-status),
    so an old failure arriving after the payment that fixed it shows no banner. Since
    2025-03-31.basil the invoice names its subscription under `parent`
    (https://docs.stripe.com/changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects)."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription_id = _id(details.get("subscription") or invoice.get("subscription"))
    if subscription_id:
        status = _sync_subscription(account, subscription_id)
        if status is not None and status not in PAYMENT_PROBLEM_STATUSES:
            account.payment_problem = False
    elif event_type == INVOICE_PAYMENT_FAILED:
        _flag_payment_problem(account, "payment failed")
    else:
        account.payment_problem = False


def _sync_subscription(account: Account, subscription_id: str) -> str | None:
    """Apply the subscription's current state, as Stripe has it now: its status (None when
    it is not the account's subscription, so nothing was applied)."""
    try:
        subscription = client().v1.subscriptions.retrieve(subscription_id).to_dict()
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            raise SubscriptionMissing(
                f"Stripe has no subscription {subscription_id}: nothing applied."
            ) from None
        raise BillingUnavailable(exc) from None
    except stripe.StripeError as exc:
        raise BillingUnavailable(exc) from None
    if subscription["id"] != account.stripe_subscription_id and has_subscription(account):
        # The account has another subscription that is still on: the news of this one (an
        # old one ending, a second checkout) does not move the account's plan.
        logger.info("subscription %s is not %s's current one", subscription["id"], account.pk)
        return None
    status = subscription.get("status", "")
    account.stripe_subscription_id = subscription["id"]
    account.stripe_customer_id = _id(subscription.get("customer")) or account.stripe_customer_id
    account.subscription_status = status
    item = _first_item(subscription)
    if status in PAID_STATUSES:
        plan = _plan_for_price(_id(item.get("price")))
        if plan is None:
            logger.error("subscription %s: no plan has its price", subscription["id"])
        else:
            services.change_plan(account, plan)
        account.subscription_cancel_at = _cancel_at(subscription, item)
    elif status in PAYMENT_PROBLEM_STATUSES:
        _flag_payment_problem(account, status)
    elif status in FREE_STATUSES:
        services.change_plan(account, services.default_plan())
        account.subscription_cancel_at = None
        account.payment_problem = False
    # incomplete_expired: the first payment never succeeded; the account stays as it is.
    return status


def _flag_payment_problem(account: Account, status: str) -> None:
    """The banner on, and an email to owners and admins when it comes on (a retry that
    fails again, or the subscription's own past_due next to the invoice's failure, does
    not email again)."""
    if account.payment_problem:
        return
    account.payment_problem = True
    transaction.on_commit(lambda: emails.send_payment_problem(account, status))


def _cancel_at(subscription: dict[str, Any], item: dict[str, Any]) -> datetime | None:
    """When a subscription set to cancel ends: cancel_at, or with cancel_at_period_end the
    period's end, which lives on the subscription item since 2025-03-31.basil
    (https://docs.stripe.com/changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end)."""
    when = subscription.get("cancel_at")
    if not when and subscription.get("cancel_at_period_end"):
        when = item.get("current_period_end") or subscription.get("current_period_end")
    return datetime.fromtimestamp(when, UTC) if when else None


def _first_item(subscription: dict[str, Any]) -> dict[str, Any]:
    items = (subscription.get("items") or {}).get("data") or []
    return items[0] if items else {}


def _plan_for_price(price_id: str) -> Plan | None:
    if not price_id:
        return None
    return next((plan for plan in Plan.objects.all() if plan.price_id() == price_id), None)


def _id(value: Any) -> str:
    """An id Stripe gives as a string, or as the object when expanded."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


# Stripe retries an unacknowledged event for three days
# (https://docs.stripe.com/webhooks#automatic-retries); we acknowledged ours, so the sweep
# keeps trying for as long, then leaves the event (and its error) to the admin.
SWEEP_FOR = timedelta(days=3)
SWEEP_BATCH = 500


def sweep(now: datetime | None = None) -> int:
    """Enqueue the stored events no task has processed: a broker outage at receipt, or
    Stripe unreachable for longer than the task's retries. Beat runs it every
    ONEPING_SWEEP_INTERVAL_SECONDS; processing twice is harmless (process() is idempotent)."""
    now = now or timezone.now()
    due = StripeEvent.objects.filter(
        processed_at__isnull=True,
        received_at__lte=now - timedelta(seconds=settings.ONEPING_OUTBOX_SWEEP_AFTER_SECONDS),
        received_at__gte=now - SWEEP_FOR,
    ).values_list("pk", flat=True)
    ids = list(due[:SWEEP_BATCH])
    for event_id in ids:
        enqueue(event_id)
    return len(ids)


def reprocess(events: QuerySet[StripeEvent]) -> int:
    """Apply the events again (the admin's action): each re-reads its subscription from
    Stripe, so a second run applies today's state; returns how many were queued."""
    ids = list(events.values_list("pk", flat=True))
    StripeEvent.objects.filter(pk__in=ids).update(processed_at=None, error="")
    for event_id in ids:
        transaction.on_commit(lambda event_id=event_id: enqueue(event_id))
    return len(ids)
