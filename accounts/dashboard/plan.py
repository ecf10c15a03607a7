"""Dashboard: the plan, this month's usage against it, and the months before.

In test mode the page shows the test environment's daily cap instead (accounts.usage
answers per UTC day for it): test-mode messages never count against the monthly quota,
and the plan shown is still the live account's.

Below, the plans side by side with their prices and limits, the current one marked. No
buttons yet: upgrades through billing come later (issue #21); staff change plans in the
admin. Then the panels other apps register (PANELS): channels_app's usage history, a chart
of the months with the deliveries by channel and status (accounts may not import
channels_app, which counts deliveries).
"""

from collections.abc import Callable

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.limits import plan_limits
from accounts.models import MonthlyUsage, Plan
from accounts.permissions import account_view
from accounts.usage import usage_for

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
            {"plan": listed, "limits": plan_limits(listed), "price": listed.price_amount / 100}
            for listed in Plan.objects.filter(Q(public=True) | Q(pk=request.live_account.plan_id))
        ],
    }
    return render(request, "accounts/plan.html", context)
