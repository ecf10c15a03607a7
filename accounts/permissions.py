"""Who may do what in the dashboard. Roles are enforced here, on the server.

member: read everything, send test messages; admin: + manage keys, channels, contacts,
webhooks, inbound endpoints, reprocess; owner: + team and account settings.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.current import current_account
from accounts.models import Membership

Role = Membership.Role
RANK = {Role.MEMBER: 0, Role.ADMIN: 1, Role.OWNER: 2}
# The least role that creates and revokes API keys; losing it revokes the keys one made.
KEY_MANAGER_ROLE = Role.ADMIN


def has_role(membership: Membership | None, role: str) -> bool:
    return membership is not None and RANK[membership.role] >= RANK[role]


def account_view(role: str = Role.MEMBER) -> Callable:
    """Decorate a dashboard view: logged in, working in an account, with at least `role`.

    Sets request.account (the environment the pages show: the live account, or its test
    environment with test mode on), request.live_account (the account people are members
    of: team, plan and keys pages are about it whatever the mode) and request.membership.
    A user with too low a role gets 403.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if any("\x00" in str(value) for value in kwargs.values()):
                # No id holds a NUL, and PostgreSQL refuses one in a query (a 500).
                raise Http404("No such object.")
            account = current_account(request)
            if account is None:
                return render(request, "dashboard/no_account.html", status=403)
            # People are members of the live account; test mode works in its sibling.
            membership = Membership.objects.select_related("account__plan").get(
                user=request.user, account_id=account.live_account_id or account.pk
            )
            if not has_role(membership, role):
                raise PermissionDenied(f"This needs the {role} role.")
            request.account = account
            request.live_account = membership.account
            request.membership = membership
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
