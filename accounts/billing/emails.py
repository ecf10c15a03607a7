"""What billing tells the people who run an account: its owners and admins, by email.

The templates are allauth's kind (templates/account/email/, extending its base message),
rendered here rather than by allauth's adapter: the adapter asks the current request for
the site, and a worker has none."""

import logging
from types import SimpleNamespace
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Account, Membership
from oneping.public_url import absolute_url

logger = logging.getLogger(__name__)


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
    host = urlsplit(settings.ONEPING_PUBLIC_URL).netloc
    context = {
        # allauth's base template greets from the site; a worker has no request to ask.
        "current_site": SimpleNamespace(name="oneping", domain=host or "oneping"),
        "account_name": account.name,
        "plan_name": account.plan.display_name,
        "status": status,
        # Without ONEPING_PUBLIC_URL a worker cannot know the outside address: the path.
        "plan_url": absolute_url(reverse("dashboard-plan")) or reverse("dashboard-plan"),
    }
    prefix = "account/email/billing_payment_problem"
    subject = " ".join(render_to_string(f"{prefix}_subject.txt", context).split())
    body = render_to_string(f"{prefix}_message.txt", context)
    for email in billing_people(account):
        try:
            EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [email]).send()
        except Exception:
            # The event is applied and the banner shows; a mail server down loses only this.
            logger.exception("billing email to an owner/admin of %s failed", account.pk)
