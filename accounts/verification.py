"""Which email addresses an account has proven it reads (allauth's verified EmailAddress).

The platform's own mail goes out from our domain and with our reputation, so it is only
for accounts whose owner has proven they read a mailbox (the email confirmation allauth
sends at sign-up; owners made by `manage.py create_account` count as verified: the operator
vouches for them, see accounts.services.create_user_with_account).
"""

from allauth.account.models import EmailAddress

from accounts.models import Account, Membership


def owner_is_verified(account: Account) -> bool:
    """An owner of the account has a verified email address (allauth's own test for a
    verified user: any of their addresses confirmed)."""
    return EmailAddress.objects.filter(
        verified=True,
        user__memberships__account=account,
        user__memberships__role=Membership.Role.OWNER,
    ).exists()


def is_verified_member_address(account: Account, address: str) -> bool:
    """`address` is a verified email address of one of the account's members."""
    return EmailAddress.objects.filter(
        verified=True, user__memberships__account=account, email__iexact=address.strip()
    ).exists()
