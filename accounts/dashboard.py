"""Dashboard pages of the accounts app (the full dashboard grows in later issues)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.current import current_account, switch_account
from accounts.usage import usage_for


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    account = current_account(request)
    usage = usage_for(account) if account else None
    return render(request, "dashboard/overview.html", {"account": account, "usage": usage})


@login_required
@require_POST
def switch(request: HttpRequest, account_id: str) -> HttpResponse:
    """Make another of the user's accounts the current one; others' accounts are 404."""
    if switch_account(request, account_id) is None:
        raise Http404("No such account.")
    return redirect("overview")
