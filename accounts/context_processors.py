"""What every dashboard page needs: the account, the user's role, the quota banner and
whether test mode is on (accounts.environments)."""

from django.http import HttpRequest

from accounts.models import Membership
from accounts.permissions import has_role
from accounts.usage import usage_for

# Show the quota banner from 80 % of the limit: the monthly quota, or in test mode the
# test environment's daily cap (accounts.usage answers per day for it).
BANNER_FROM = 0.8


def dashboard(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    account = request.account
    usage = usage_for(account)
    share = usage.used / usage.limit if usage.limit else 1
    memberships = (
        Membership.objects.filter(user=request.user).select_related("account").order_by("pk")
    )
    return {
        "membership": membership,
        "is_admin": has_role(membership, Membership.Role.ADMIN),
        "is_owner": has_role(membership, Membership.Role.OWNER),
        "usage": usage,
        "quota_banner": share >= BANNER_FROM,
        "quota_exhausted": usage.remaining == 0,
        "memberships": memberships,
        "test_mode": not account.livemode,
        # Billing is the live account's: a payment failed or the subscription is past due.
        "payment_banner": membership.account.payment_problem,
    }
