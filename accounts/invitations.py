"""The team of an account: invitations by email, role changes and removals.

Owners manage the team (see accounts.permissions). One rule runs through role changes and
removals: an account always keeps an owner, or nobody could manage its team any more.
"""

import hashlib
import secrets
import smtplib

from allauth.account.adapter import get_adapter
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts import api_keys, limits
from accounts.models import Account, ApiKey, Invitation, Membership, User
from accounts.permissions import KEY_MANAGER_ROLE, RANK
from oneping.public_url import absolute_url

Role = Membership.Role
# Owners are made by promoting someone who already joined, never by an emailed link.
INVITABLE_ROLES = (Role.ADMIN, Role.MEMBER)
TOKEN_BYTES = 32


class TeamError(Exception):
    """A team change the rules refuse; the message is meant for the person who tried."""


class MemberLimitReached(TeamError):
    """The account is at its plan's member cap (accounts.limits): the invitation stays valid."""


def hash_token(token: str) -> str:
    # The token carries 256 random bits, so a fast hash is enough (as for API keys).
    return hashlib.sha256(token.encode()).hexdigest()


def pending_invitations(account: Account) -> QuerySet[Invitation]:
    return (
        Invitation.objects.pending()
        .filter(account=account)
        .select_related("invited_by")
        .order_by("-created_at")
    )


@transaction.atomic
def create_invitation(
    account: Account, email: str, role: str, invited_by: User | None = None
) -> tuple[Invitation, str]:
    """A pending invitation and its raw token; the token is returned here once, never stored."""
    if role not in INVITABLE_ROLES:
        raise TeamError("Invite people as admin or member; promote them to owner once joined.")
    if Membership.objects.filter(account=account, user__email__iexact=email).exists():
        raise TeamError(f"{email} is already a member of {account.name}.")
    # Inviting the same address again replaces the pending invitation: the new email is the
    # one that counts, and the old link stops working.
    Invitation.objects.filter(
        account=account, email__iexact=email, accepted_at__isnull=True
    ).delete()
    # The plan's member cap counts pending invitations too: each may become a member.
    _ensure_member_room(account, pending=True)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation.objects.create(
        account=account, email=email, role=role, token_hash=hash_token(token), invited_by=invited_by
    )
    return invitation, token


def send_invitation(request: HttpRequest, invitation: Invitation, token: str) -> None:
    """Email the accept link. Sent in the request, as allauth sends its own mails: a queued
    task would have to carry the raw token through the broker."""
    # ONEPING_PUBLIC_URL when set: behind a proxy the request's Host is the inside one.
    accept_url = absolute_url(reverse("dashboard-invite-accept", args=[token]), request)
    context = {
        "account_name": invitation.account.name,
        "inviter": invitation.invited_by,
        "role": invitation.get_role_display(),
        "accept_url": accept_url,
        "expires_at": invitation.expires_at,
    }
    get_adapter(request).send_mail("account/email/team_invite", invitation.email, context)


def invite(
    request: HttpRequest, account: Account, email: str, role: str, invited_by: User
) -> Invitation:
    invitation, token = create_invitation(account, email, role, invited_by)
    try:
        send_invitation(request, invitation, token)
    except (smtplib.SMTPException, OSError) as exc:
        # Nobody can ever use an invitation whose email did not go out (the token is not
        # kept), so drop it rather than list it as pending.
        invitation.delete()
        raise TeamError("The invitation email could not be sent. Please try again.") from exc
    return invitation


def revoke_invitation(invitation: Invitation) -> None:
    # Revoked invitations carry no history worth keeping; deleting kills the link.
    invitation.delete()


def find_invitation(token: str) -> Invitation | None:
    """The pending invitation behind a link; None when unknown, used or expired."""
    return (
        Invitation.objects.pending()
        .select_related("account", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )


@transaction.atomic
def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Make `user` a member with the invited role. Someone who is already a member keeps
    their role: an invitation never demotes."""
    # The conditional UPDATE makes the link single-use even when two people click at once.
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    if not claimed:
        raise TeamError("This invitation has already been used.")
    if not Membership.objects.filter(user=user, account=invitation.account).exists():
        # Checked again here: the plan may have changed since the invitation went out.
        _ensure_member_room(invitation.account, pending=False)
    membership, _ = Membership.objects.get_or_create(
        user=user, account=invitation.account, defaults={"role": invitation.role}
    )
    return membership


@transaction.atomic
def change_role(membership: Membership, role: str) -> list[ApiKey]:
    """Give `membership` another role. Returns the API keys this revoked: a member demoted
    below the role that manages keys loses the keys they created (see _revoke_their_keys)."""
    if role not in Role.values:
        raise TeamError(f"Unknown role {role!r}.")
    if membership.role == Role.OWNER and role != Role.OWNER:
        _keep_another_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    if RANK[role] < RANK[KEY_MANAGER_ROLE]:
        return _revoke_their_keys(membership)
    return []


@transaction.atomic
def remove_member(membership: Membership) -> list[ApiKey]:
    """Remove someone from the account. Returns the API keys they created, now revoked."""
    if membership.role == Role.OWNER:
        _keep_another_owner(membership)
    revoked = _revoke_their_keys(membership)
    membership.delete()
    return revoked


def _revoke_their_keys(membership: Membership) -> list[ApiKey]:
    # A key acts with the authority of whoever made it. Someone who may no longer manage
    # keys (demoted to member) or who left must not keep acting through the keys they
    # made, nor through keys those keys minted. A demotion that keeps the right to manage
    # keys (owner to admin) changes nothing about keys: they could mint the same again.
    return api_keys.revoke_keys_created_by(membership.user, membership.account)


def revoke_keys_on_cascade(sender, instance: Membership, **kwargs) -> None:
    """pre_delete of a Membership: the backstop for removals that skip remove_member, such
    as deleting the user in the admin (which cascades to their memberships)."""
    _revoke_their_keys(instance)


def _keep_another_owner(membership: Membership) -> None:
    """Refuse to take `membership` away from the owners when it is the only one left.

    Locking the owner rows makes two owners who demote each other at the same moment run
    one after the other, so the second one sees that only they remain.
    """
    owners = list(
        Membership.objects.select_for_update()
        .filter(account_id=membership.account_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if owners == [membership.pk]:
        raise TeamError("An account needs at least one owner: make someone else owner first.")


def _ensure_member_room(account: Account, *, pending: bool) -> None:
    """TeamError when the account is at its plan's member cap (accounts.limits), counting
    pending invitations when `pending`. Locks the account row first, so two invitations
    sent at once count one after the other."""
    Account.objects.select_for_update().filter(pk=account.pk).values_list("pk").first()
    limit = limits.limit_for(account, "members")
    taken = Membership.objects.filter(account=account).count()
    if pending:
        taken += Invitation.objects.pending().filter(account=account).count()
    if taken >= limit and pending:
        raise MemberLimitReached(
            f"{account.name} has {limit} members and pending invitations, its plan's limit; "
            "remove someone or revoke an invitation first."
        )
    if taken >= limit:
        raise MemberLimitReached(
            f"{account.name} has {limit} members, its plan's limit; ask an owner or admin "
            "to make room, then use this link again."
        )
