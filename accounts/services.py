"""Creating tenants and their people: the rules shared by sign-up, commands and admin."""

import secrets

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Account, Membership, Plan, User


def default_plan() -> Plan:
    """The plan new accounts start on. A data migration creates it; recreating it here
    keeps sign-up working on a database that was flushed (tests, a restored dump)."""
    plan, _ = Plan.objects.get_or_create(
        name=Plan.FREE, defaults={"display_name": "Free", "monthly_quota": FREE_MONTHLY_QUOTA}
    )
    return plan


FREE_MONTHLY_QUOTA = 100


def unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "account"
    slug = base
    while Account.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


def default_account_name(user: User) -> str:
    return user.email.split("@", 1)[0] or user.email


@transaction.atomic
def create_account(*, owner: User, name: str | None = None, plan: Plan | None = None) -> Account:
    """A new account on the free plan (unless told otherwise) with `owner` as its owner."""
    name = (name or default_account_name(owner)).strip()
    account = Account.objects.create(name=name, slug=unique_slug(name), plan=plan or default_plan())
    Membership.objects.create(user=owner, account=account, role=Membership.Role.OWNER)
    return account


@transaction.atomic
def create_user_with_account(
    *, email: str, password: str, account_name: str | None = None
) -> tuple[User, Account]:
    """A user whose email counts as verified (ops and demos), with an account they own."""
    user = User.objects.create_user(email=email, password=password)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user, create_account(owner=user, name=account_name)


def change_plan(account: Account, plan: Plan) -> bool:
    """Move the live account to `plan` (billing's webhooks, the admin): its quota and caps
    change at once, as every limit reads the plan fresh (accounts.usage, accounts.limits).
    A downgrade cancels nothing already accepted; an upgrade lets the next send through.
    Saved with save(), never QuerySet.update(): the test environment follows the plan on
    post_save (accounts.environments.follow_plan). False when it was on it already."""
    if account.plan_id == plan.pk:
        return False
    account.plan = plan
    account.save(update_fields=["plan"])
    return True
