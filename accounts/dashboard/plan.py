"""Dashboard: the plan, this month's usage against it, and the months before.

In test mode the page shows the test environment's daily cap instead (accounts.usage
answers per UTC day for it): test-mode messages never count against the monthly quota,
and the plan shown is still the live account's.

Below, the plans side by side with their prices and limits, the current one marked. For
owners and admins, billing (accounts/billing/): an "Upgrade to …" button per paid plan,
which starts a Stripe Checkout, or with a subscription "Manage billing" (Stripe's portal).
Without STRIPE_SECRET_KEY the page says billing is not configured: staff change plans in
the admin. Billing is always the live account's, test mode or not. Then the panels other
apps register (PANELS): channels_app's usage history, a chart of the months with the
deliveries by channel and status (accounts may not import channels_app, which counts
deliveries).
"""

from collections.abc import Callable

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.billing import services as billing
from accounts.billing.client import configured as billing_configured
from accounts.limits import plan_limits
from accounts.models import Membership, MonthlyUsage, Plan
from accounts.permissions import account_view
from accounts.usage import usage_for
from oneping.errors import ServiceError

HISTORY_MONTHS = 12
# A test environment's rows hold one day each: two weeks of them.
HISTORY_DAYS = 14

# Sections drawn below the plans, each given the request and answering HTML; registered at
# startup by the apps that draw them (channels_app.apps).
PANELS: list[Callable[[HttpRequest], str]] = []


@account_view()
def plan(request: HttpRequest) -> HttpResponse:
    account = request.account
    usage = usage_for(account)
    percent = min(100, usage.used * 100 // usage.limit) if usage.limit else 100
    history = MonthlyUsage.objects.filter(account=account).order_by("-period_start")[
        : HISTORY_MONTHS if account.livemode else HISTORY_DAYS
    ]
    context = {
        "plan": request.live_account.plan,
        "live_usage": usage if account.livemode else usage_for(request.live_account),
        "usage": usage,
        "percent": percent,
        "history": history,
        "current_period": usage.period_start.date(),
        "panels": [panel(request) for panel in PANELS],
        # The public plans, and the account's own even when it is not public (a custom one).
        "plans": [
            {
                "plan": listed,
                "limits": plan_limits(listed),
                "price": listed.price_amount / 100,
                "for_sale": bool(listed.price_amount and listed.price_id()),
            }
            for listed in Plan.objects.filter(Q(public=True) | Q(pk=request.live_account.plan_id))
        ],
        "billing_configured": billing_configured(),
        "has_subscription": billing.has_subscription(request.live_account),
        "live_account": request.live_account,
        "checkout": request.GET.get("checkout", ""),
    }
    return render(request, "accounts/plan.html", context)


@require_POST
@account_view(Membership.Role.ADMIN)
def checkout(request: HttpRequest) -> HttpResponse:
    """ "Upgrade to …": a Stripe Checkout for the live account, and off to Stripe (303)."""
    try:
        url = billing.start_checkout(
            request.live_account, request.POST.get("plan", ""), request.user, request
        )
    except ServiceError as exc:
        if exc.code == "subscription_exists":
            return HttpResponseRedirect(exc.details["portal_url"], status=303)
        messages.error(request, exc.message)
        return redirect("dashboard-plan")
    return HttpResponseRedirect(url, status=303)


@require_POST
@account_view(Membership.Role.ADMIN)
def portal(request: HttpRequest) -> HttpResponse:
    """ "Manage billing": Stripe's Billing Portal for the live account (303)."""
    try:
        url = billing.open_portal(request.live_account, request)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard-plan")
    return HttpResponseRedirect(url, status=303)
