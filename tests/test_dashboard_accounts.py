"""Dashboard: API keys, team and invitations, plan, and allauth's pages in our layout."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import api_keys, invitations
from accounts.models import ApiKey, Invitation, Membership, MonthlyUsage
from accounts.usage import period_key
from tests.conftest import ApiClient

Role = Membership.Role
NEW_KEY_INPUT = re.compile(r'id="new-key" type="text" value="([^"]+)"')
ACCEPT_LINK = re.compile(r"http://testserver(/invite/[^/\s]+/)")


# --- API keys -------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_authenticates(owner_client, account):
    response = owner_client.post(
        "/keys/new/", {"name": "production", "scopes": ["send", "read", "admin"]}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "will not be shown again" in html
    assert 'data-copy="new-key"' in html
    raw_key = NEW_KEY_INPUT.search(html).group(1)
    api = ApiClient(raw_key).get("/api/v1/account")
    assert api.status_code == 200
    assert api.json()["id"] == account.pk

    listing = owner_client.get("/keys/").content.decode()
    assert raw_key not in listing
    assert f"{ApiKey.objects.get(name='production').prefix}…" in listing
    assert "new-key" not in listing


def test_a_key_with_no_name_is_refused(owner_client):
    response = owner_client.post("/keys/new/", {"name": ""})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_revoked_key_gets_401_on_the_api(owner_client, account):
    api_key, raw_key = api_keys.issue_key(account, "old")
    assert ApiClient(raw_key).get("/api/v1/account").status_code == 200

    response = owner_client.post(f"/keys/{api_key.pk}/revoke/")

    assert response.status_code == 302
    assert ApiClient(raw_key).get("/api/v1/account").status_code == 401
    listing = owner_client.get("/keys/").content.decode()
    assert "revoked" in listing
    assert f"/keys/{api_key.pk}/revoke/" not in listing


def test_members_see_keys_but_cannot_create_or_revoke_them(member_client, account):
    api_key, raw_key = api_keys.issue_key(account, "shared")

    page = member_client.get("/keys/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "shared" in html
    assert "Create API key" not in html
    assert "Revoke" not in html

    assert member_client.post("/keys/new/", {"name": "mine"}).status_code == 403
    assert member_client.post(f"/keys/{api_key.pk}/revoke/").status_code == 403
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["shared"]
    assert ApiClient(raw_key).get("/api/v1/account").status_code == 200


def test_another_accounts_key_is_404(owner_client, make_account):
    theirs, raw_key = api_keys.issue_key(make_account("Other"), "theirs")

    assert owner_client.post(f"/keys/{theirs.pk}/revoke/").status_code == 404
    assert ApiClient(raw_key).get("/api/v1/account").status_code == 200
    assert "theirs" not in owner_client.get("/keys/").content.decode()


def test_the_keys_page_costs_the_same_queries_with_many_keys(
    owner_client, account, owner, django_assert_max_num_queries
):
    for n in range(30):
        api_keys.issue_key(account, f"key {n}", created_by_user=owner)
    owner_client.get("/keys/")  # the first visit stores the current account in the session

    # A fixed handful (session, user, account, role, usage, layout, one page of keys): one
    # query per listed key would blow far past it.
    with django_assert_max_num_queries(10):
        response = owner_client.get("/keys/")

    html = response.content.decode()
    assert "key 29" in html  # newest first
    assert "key 0" not in html  # on the next page
    assert 'href="/keys/?before=' in html  # absolute: also right after POST /keys/new/


# --- Team and invitations -------------------------------------------------------------------


def test_an_invited_newcomer_signs_up_and_joins_with_the_invited_role(owner_client, account):
    response = owner_client.post("/team/invite/", {"email": "new@example.com", "role": "admin"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert "Acme" in mail.outbox[0].subject
    accept_path = ACCEPT_LINK.search(mail.outbox[0].body).group(1)
    assert "new@example.com" in owner_client.get("/team/").content.decode()  # pending

    newcomer = Client()
    to_login = newcomer.get(accept_path)
    assert to_login.status_code == 302
    assert to_login["Location"].startswith("/accounts/login/?next=/invite/")
    login_page = newcomer.get(to_login["Location"]).content.decode()
    assert "Sign up first" in login_page
    assert "/accounts/signup/?next=%2Finvite%2F" in login_page

    signed_up = newcomer.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-and-unusual-pass",
            "password2": "a-long-and-unusual-pass",
            "next": accept_path,
        },
    )
    assert signed_up.status_code == 302
    assert signed_up["Location"] == accept_path
    assert "Join Acme as Admin" in newcomer.get(accept_path).content.decode()

    joined = newcomer.post(accept_path)

    assert joined.status_code == 302
    assert joined["Location"] == "/"
    membership = Membership.objects.get(user__email="new@example.com", account=account)
    assert membership.role == Role.ADMIN
    assert newcomer.session["account_id"] == account.pk
    assert Invitation.objects.get().accepted_at is not None
    assert newcomer.get(accept_path).status_code == 404  # the link works once


def test_an_expired_or_unknown_invitation_is_a_friendly_404(client, account, django_user_model):
    invitation, token = invitations.create_invitation(account, "late@example.com", Role.MEMBER)
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - Invitation.LIFETIME - timedelta(minutes=1)
    )
    late = django_user_model.objects.create_user(email="late@example.com", password="x-y-z-1")
    client.force_login(late)

    response = client.get(f"/invite/{token}/")
    assert response.status_code == 404
    assert "This invitation no longer works" in response.content.decode()
    assert client.post(f"/invite/{token}/").status_code == 404
    assert client.get("/invite/not-a-token/").status_code == 404
    assert not Membership.objects.filter(user=late).exists()


def test_an_existing_user_accepts_and_a_member_keeps_their_role(client, account, make_member):
    admin = make_member(Role.ADMIN, email="already@example.com")
    _, token = invitations.create_invitation(account, "other@example.com", Role.MEMBER)
    client.force_login(admin.user)

    assert client.post(f"/invite/{token}/").status_code == 302

    admin.refresh_from_db()
    assert admin.role == Role.ADMIN  # accepting twice or as a member never demotes
    assert Membership.objects.filter(user=admin.user).count() == 1


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN])
def test_only_owners_invite(client, make_member, role):
    client.force_login(make_member(role).user)

    page = client.get("/team/").content.decode()
    response = client.post("/team/invite/", {"email": "x@example.com", "role": "member"})

    assert "Send invitation" not in page
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_inviting_a_member_again_is_refused(owner_client, owner):
    response = owner_client.post("/team/invite/", {"email": owner.email, "role": "member"})

    assert response.status_code == 200
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_revoked_invitation_link_stops_working(owner_client, account):
    owner_client.post("/team/invite/", {"email": "new@example.com", "role": "member"})
    accept_path = ACCEPT_LINK.search(mail.outbox[0].body).group(1)
    invitation = Invitation.objects.get()

    assert owner_client.post(f"/team/invitations/{invitation.pk}/revoke/").status_code == 302

    assert owner_client.get(accept_path).status_code == 404
    assert not Invitation.objects.exists()


def test_owner_changes_a_role_and_removes_a_member(owner_client, make_member):
    member = make_member(Role.MEMBER)

    owner_client.post(f"/team/members/{member.pk}/role/", {"role": "admin"})
    member.refresh_from_db()
    assert member.role == Role.ADMIN

    owner_client.post(f"/team/members/{member.pk}/remove/")
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_the_last_owner_can_be_neither_removed_nor_demoted(owner_client, owner):
    own = Membership.objects.get(user=owner)

    removed = owner_client.post(f"/team/members/{own.pk}/remove/", follow=True)
    assert "at least one owner" in removed.content.decode()
    demoted = owner_client.post(f"/team/members/{own.pk}/role/", {"role": "member"}, follow=True)
    assert "at least one owner" in demoted.content.decode()

    own.refresh_from_db()
    assert own.role == Role.OWNER


def test_an_owner_may_leave_when_another_owner_remains(owner_client, owner, make_member):
    make_member(Role.OWNER, email="second-owner@example.com")
    own = Membership.objects.get(user=owner, account__name="Acme")

    owner_client.post(f"/team/members/{own.pk}/remove/")

    assert not Membership.objects.filter(pk=own.pk).exists()


def test_members_cannot_change_the_team(owner, member_client):
    own = Membership.objects.get(user=owner)

    assert (
        member_client.post(f"/team/members/{own.pk}/role/", {"role": "member"}).status_code == 403
    )
    assert member_client.post(f"/team/members/{own.pk}/remove/").status_code == 403
    own.refresh_from_db()
    assert own.role == Role.OWNER


def test_another_accounts_member_is_404(owner_client, make_account):
    theirs = Membership.objects.get(account=make_account("Other"))

    assert owner_client.post(f"/team/members/{theirs.pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


# --- Plan -----------------------------------------------------------------------------------


def test_the_plan_page_shows_this_months_usage_and_past_months(owner_client, account, make_account):
    this_month = period_key()
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    MonthlyUsage.objects.create(account=account, period_start=this_month, used=37)
    MonthlyUsage.objects.create(account=account, period_start=last_month, used=12)
    MonthlyUsage.objects.create(account=make_account("Other"), period_start=last_month, used=99)

    html = owner_client.get("/plan/").content.decode()

    assert "37 of 100" in html
    assert 'style="width: 37%"' in html
    assert "meter full" not in html
    assert last_month.strftime("%B %Y") in html
    assert html.index(this_month.strftime("%B %Y")) < html.index(last_month.strftime("%B %Y"))
    assert "<td>12</td>" in html
    assert "<td>99</td>" not in html


def test_the_meter_is_full_when_the_quota_is_used_up(owner_client, account):
    MonthlyUsage.objects.create(account=account, period_start=period_key(), used=100)

    html = owner_client.get("/plan/").content.decode()

    assert "100 of 100" in html
    assert 'class="meter full"' in html


# --- allauth's pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
)
def test_allauth_pages_render_in_our_layout(client, db, url):
    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="topbar"' in html
    assert 'class="card auth-card"' in html
    assert 'class="field' in html
    assert "· oneping</title>" in html
