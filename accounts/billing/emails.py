"""What billing tells the people who run an account: its owners and admins, by email
through allauth's adapter (as accounts.invitations sends invitations)."""

from allauth.account.adapter import get_adapter
from django.urls import reverse

from accounts.models import Account, Membership
from oneping.public_url import absolute_url


def billing_people(account: Account) -> list[str]:
    """The email addresses of the live account's owners and admins."""
    return list(
        Membership.objects.filter(
            account=account, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
        )
        .order_by("created_at", "pk")
        .values_list("user__email", flat=True)
    )


def send_payment_problem(account: Account, status: str) -> None:
    """A payment failed (or the subscription is past due / incomplete): the plan is kept
    for now, and the card needs updating in the billing portal (a link on the plan page)."""
    context = {
        "account_name": account.name,
        "plan_name": account.plan.display_name,
        "status": status,
        # Without ONEPING_PUBLIC_URL a worker cannot know the outside address: the path.
        "plan_url": absolute_url(reverse("dashboard-plan")) or reverse("dashboard-plan"),
    }
    adapter = get_adapter()
    for email in billing_people(account):
        adapter.send_mail("account/email/billing_payment_problem", email, context)
