"""Dashboard: the team (everyone reads, owners change) and accepting an invitation.

People are members of the live account, so these pages work on request.live_account, in
test mode too (accounts.environments)."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_http_methods, require_POST

from accounts import invitations
from accounts.current import switch_account
from accounts.dashboard.forms import InviteForm, RoleForm
from accounts.invitations import TeamError
from accounts.models import ApiKey, Invitation, Membership
from accounts.permissions import Role, account_view


@account_view()
def team(request: HttpRequest) -> HttpResponse:
    return _render_team(request, InviteForm())


@account_view(Role.OWNER)
@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        email, role = form.cleaned_data["email"], form.cleaned_data["role"]
        try:
            invitations.invite(request, request.live_account, email, role, request.user)
        except TeamError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Invitation sent to {email}.")
            return redirect("dashboard-team")
    return _render_team(request, form)


@account_view(Role.OWNER)
@require_POST
def change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _member(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("dashboard-team")
    try:
        revoked = invitations.change_role(membership, form.cleaned_data["role"])
    except TeamError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user} is now {membership.get_role_display()}.")
        _tell_revoked_keys(request, membership, revoked)
    return redirect("dashboard-team")


@account_view(Role.OWNER)
@require_POST
def remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _member(request, membership_id)
    try:
        revoked = invitations.remove_member(membership)
    except TeamError as exc:
        messages.error(request, str(exc))
        return redirect("dashboard-team")
    if membership.user_id == request.user.pk:
        # They left this account; the overview picks another one of theirs.
        messages.success(request, f"You left {request.live_account.name}.")
        return redirect("overview")
    messages.success(request, f"Removed {membership.user} from the team.")
    _tell_revoked_keys(request, membership, revoked)
    return redirect("dashboard-team")


@account_view(Role.OWNER)
@require_POST
def revoke_invitation(request: HttpRequest, invitation_id: str) -> HttpResponse:
    invitation = get_object_or_404(
        Invitation.objects.pending(), pk=invitation_id, account=request.live_account
    )
    invitations.revoke_invitation(invitation)
    messages.success(request, f"Revoked the invitation of {invitation.email}.")
    return redirect("dashboard-team")


@require_http_methods(["GET", "POST"])
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the invitation email. Any logged-in person holding it may join."""
    invitation = invitations.find_invitation(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if not request.user.is_authenticated:
        messages.info(
            request,
            f"Log in to join {invitation.account.name}. No oneping login yet? Sign up first: "
            "you will come back to this invitation afterwards.",
        )
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        try:
            invitations.accept_invitation(invitation, request.user)
        except invitations.MemberLimitReached as exc:
            # The link still works once there is room: say why, do not call it invalid.
            messages.error(request, str(exc))
            context = {"invitation": invitation, "already_member": False}
            return render(request, "accounts/invitation_accept.html", context, status=409)
        except TeamError:
            return render(request, "accounts/invitation_invalid.html", status=404)
        switch_account(request, invitation.account_id)
        messages.success(request, f"Welcome to {invitation.account.name}.")
        return redirect("overview")
    already_member = Membership.objects.filter(
        user=request.user, account=invitation.account
    ).exists()
    context = {"invitation": invitation, "already_member": already_member}
    return render(request, "accounts/invitation_accept.html", context)


def _tell_revoked_keys(request: HttpRequest, membership: Membership, revoked: list[ApiKey]):
    """The owner sees which keys stopped working, so nothing breaks unexplained."""
    if revoked:
        names = ", ".join(f"{key.name} ({key.prefix}…)" for key in revoked)
        messages.warning(
            request,
            f"Revoked {len(revoked)} API key{pluralize(len(revoked))} {membership.user} "
            f"created: {names}. Programs using them stop working.",
        )


def _member(request: HttpRequest, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, account=request.live_account
    )


def _render_team(request: HttpRequest, form: InviteForm) -> HttpResponse:
    members = (
        Membership.objects.filter(account=request.live_account)
        .select_related("user")
        .order_by("created_at", "pk")
    )
    context = {
        "members": members,
        "invitations": invitations.pending_invitations(request.live_account),
        "form": form,
        "roles": Role.choices,
    }
    return render(request, "accounts/team.html", context)
