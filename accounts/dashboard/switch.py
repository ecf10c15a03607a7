from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.current import switch_account


@login_required
@require_POST
def switch(request: HttpRequest, account_id: str) -> HttpResponse:
    """Make another of the user's accounts the current one; others' accounts are 404."""
    if switch_account(request, account_id) is None:
        raise Http404("No such account.")
    return redirect("overview")
