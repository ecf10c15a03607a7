"""Dashboard pages of the accounts app (the full dashboard grows in later issues)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.current import current_account
from accounts.usage import usage_for


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    account = current_account(request)
    usage = usage_for(account) if account else None
    return render(request, "dashboard/overview.html", {"account": account, "usage": usage})
