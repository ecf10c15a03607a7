"""Dashboard: the plan, this month's usage against it, and the months before."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import MonthlyUsage
from accounts.permissions import account_view
from accounts.usage import usage_for

HISTORY_MONTHS = 12


@account_view()
def plan(request: HttpRequest) -> HttpResponse:
    account = request.account
    usage = usage_for(account)
    percent = min(100, usage.used * 100 // usage.limit) if usage.limit else 100
    history = MonthlyUsage.objects.filter(account=account).order_by("-period_start")[
        :HISTORY_MONTHS
    ]
    context = {
        "plan": account.plan,
        "usage": usage,
        "percent": percent,
        "history": history,
        "current_period": usage.period_start.date(),
    }
    return render(request, "accounts/plan.html", context)
