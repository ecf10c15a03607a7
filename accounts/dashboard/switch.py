from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.current import switch_account


@login_required
@require_POST
def switch(request: HttpRequest, account_id: str | None = None) -> HttpResponse:
    """Make another of the user's accounts the current one; others' accounts are 404.

    The id comes from the URL, or from the top bar's account picker (a plain form)."""
    account_id = account_id or request.POST.get("account", "")
    if switch_account(request, account_id) is None:
        raise Http404("No such account.")
    return redirect("overview")
