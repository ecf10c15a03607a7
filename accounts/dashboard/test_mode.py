"""Dashboard: the top bar's test mode switch (accounts.current keeps it in the session).

With it on, every page scoped to request.account shows the account's test environment
(accounts.environments); the team, plan and keys pages stay about the live account.

The switch is the person's working mode, not the account's: switching accounts keeps it.
Keeping it means switching accounts never silently moves someone from test data (where
nothing reaches a real recipient) to live data; the banner on every page says which one
they are in.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.current import set_test_mode
from accounts.permissions import account_view


@account_view()
@require_POST
def switch_test_mode(request: HttpRequest) -> HttpResponse:
    """Turn test mode on (`on=1`) or off (anything else), then show the page it came from."""
    set_test_mode(request, request.POST.get("on") == "1")
    return redirect(landing(request, request.POST.get("next", "")))


def landing(request: HttpRequest, next_path: str) -> str:
    """Where to go after switching: the same page when it is a list (the other environment
    has one too), its section's list from an object's page (that object belongs to the
    environment just left: a 404), the overview otherwise."""
    if not next_path.startswith("/") or not url_has_allowed_host_and_scheme(
        next_path, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    section = "/" + next_path.strip("/").split("/")[0] + "/"
    for candidate in (next_path, section):
        try:
            match = resolve(candidate)
        except Resolver404:
            continue
        if not match.kwargs and not candidate.startswith(("/api/", "/admin/", "/accounts/")):
            return candidate
    return "/"
