"""The dashboard's test mode (issue #20): the top bar's switch, the banner on every page,
the pages about the live account (team, plan, keys) working in either mode, the keys
page's two lists, the magic recipients page, and the admin's view of test environments.

Sends are accepted in the request and queued after the commit, which a test transaction
never reaches: nothing here contacts a provider or needs a worker.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import api_keys, environments
from accounts.current import SESSION_KEY, TEST_MODE_KEY
from accounts.models import Account, ApiKey, Invitation, Membership, MonthlyUsage
from accounts.usage import period_for
from channels_app.integrations.simulator import magic
from channels_app.models import ChannelConfig
from tests.conftest import ApiClient, send
from tests.hostile.objects import SLACK_URL, make_objects

BANNER = "Test mode:</strong> you are looking at test data; nothing reaches real recipients"
# The dashboard's own pages: every route its apps' dashboard modules serve.
DASHBOARD_MODULES = ("accounts.dashboard.", "channels_app.dashboard.", "webhooks.dashboard.")
NOT_ACCOUNT_PAGES = {
    "dashboard-invite-accept": "an invitation's link: answered before any account is chosen",
}


def turn_test_mode(client: Client, on: bool, next_path: str = "/") -> str:
    """Flip the top bar's switch as its form does; where it lands."""
    response = client.post(
        reverse("dashboard-test-mode"), {"on": "1" if on else "0", "next": next_path}
    )
    assert response.status_code == 302
    return response["Location"]


@pytest.fixture
def test_env(account) -> Account:
    return environments.test_environment(account)


def channel_of(account: Account) -> ChannelConfig:
    # Configured, so the send is accepted whether or not test mode needs it (the
    # simulator answers for every kind, configured or not).
    return ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": SLACK_URL}
    )


# --- The switch and the banner ---------------------------------------------------------------


def test_a_member_switches_test_mode_on_and_off_and_the_banner_follows(member_client):
    assert BANNER not in member_client.get("/messages/").content.decode()
    assert 'role="switch" aria-checked="false"' in member_client.get("/").content.decode()

    landed = turn_test_mode(member_client, True, "/messages/")

    assert landed == "/messages/"
    page = member_client.get("/messages/").content.decode()
    assert BANNER in page
    assert 'role="switch" aria-checked="true"' in page
    assert reverse("dashboard-magic-recipients") in page
    assert "Every channel works here without configuration" in page

    turn_test_mode(member_client, False, "/messages/")

    assert BANNER not in member_client.get("/messages/").content.decode()


def test_the_switch_needs_a_post_and_a_login(client, member_client):
    assert member_client.get(reverse("dashboard-test-mode")).status_code == 405
    anonymous = client.post(reverse("dashboard-test-mode"), {"on": "1"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


@pytest.mark.parametrize(
    ("next_path", "landing"),
    [
        ("/webhooks/", "/webhooks/"),  # a list: the other environment has one too
        ("/messages/msg_0000000000000000000000/", "/messages/"),  # an object: its list
        ("/inbound/ibe_x/events/ie_y/", "/inbound/"),
        ("https://elsewhere.example/", "/"),  # never off the site
        ("//elsewhere.example/", "/"),
        ("/api/v1/messages", "/"),  # not a dashboard page
        ("", "/"),
    ],
)
def test_the_switch_lands_on_a_page_of_the_mode_it_switched_to(member_client, next_path, landing):
    assert turn_test_mode(member_client, True, next_path) == landing


def test_switching_accounts_keeps_test_mode(owner_client, owner, make_account):
    other = make_account("Other")
    Membership.objects.create(user=owner, account=other, role=Membership.Role.ADMIN)
    turn_test_mode(owner_client, True)

    owner_client.post(reverse("switch-account", args=[other.pk]))

    assert owner_client.session[TEST_MODE_KEY] is True
    assert owner_client.session[SESSION_KEY] == other.pk
    page = owner_client.get("/").content.decode()
    assert BANNER in page and "Other" in page
    assert Account.objects.filter(live_account=other).exists()  # it works in Other's test env


def every_dashboard_route() -> dict[str, URLPattern]:
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            else:
                yield pattern

    return {
        pattern.name: pattern
        for pattern in walk(get_resolver().url_patterns)
        if pattern.callback.__module__.startswith(DASHBOARD_MODULES)
        and pattern.name not in NOT_ACCOUNT_PAGES
    }


def test_every_dashboard_page_answers_in_test_mode_with_the_banner(owner_client, account, test_env):
    # The test environment's own objects, so every page that takes an id has one to show.
    objects = make_objects(test_env, tag="testenv")
    Membership.objects.filter(account=test_env).delete()  # people belong to the live account
    Invitation.objects.filter(account=test_env).delete()
    kwargs = {
        "key_id": objects.api_key.pk,
        "delivery_id": objects.delivery.pk,
        "contact_id": objects.contact.pk,
        "message_id": objects.message.pk,
        "suppression_id": objects.suppression.pk,
        "endpoint_id": objects.webhook_endpoint.pk,
        "event_id": objects.inbound_event.pk,
        "membership_id": Membership.objects.get(account=account).pk,
        "invitation_id": "inv_x",
        "account_id": account.pk,
        "kind": "email",
    }
    turn_test_mode(owner_client, True)
    answered = {}

    for name, pattern in sorted(every_dashboard_route().items()):
        wanted = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
        params = {key: kwargs[key] for key in wanted}
        if name.startswith("dashboard-inbound") and "endpoint_id" in params:
            params["endpoint_id"] = objects.inbound_endpoint.pk
        url = reverse(name, kwargs=params)
        response = owner_client.get(url)
        answered[name] = response.status_code
        # require_POST answers a GET 405 before anything else: those are actions.
        assert response.status_code in (200, 405), f"GET {url}: {response.status_code}"
        if response.status_code == 200:
            assert BANNER in response.content.decode(), f"GET {url} has no banner"

    pages = {name for name, status in answered.items() if status == 200}
    assert {
        "overview",
        "dashboard-keys",
        "dashboard-team",
        "dashboard-plan",
        "dashboard-magic-recipients",
        "dashboard-message",
        "dashboard-webhook",
        "dashboard-inbound-event",
        "dashboard-channels",
    } <= pages


# --- Pages about the live account -----------------------------------------------------------


def test_the_team_page_in_test_mode_is_the_live_accounts(owner_client, account, make_member):
    member = make_member(email="colleague@example.com")
    turn_test_mode(owner_client, True)

    page = owner_client.get("/team/").content.decode()
    assert "colleague@example.com" in page and BANNER in page

    invited = owner_client.post("/team/invite/", {"email": "new@example.com", "role": "member"})
    assert invited.status_code == 302
    invitation = Invitation.objects.get(email="new@example.com")
    assert invitation.account == account
    assert "new@example.com" in owner_client.get("/team/").content.decode()

    owner_client.post(f"/team/members/{member.pk}/role/", {"role": "admin"})
    member.refresh_from_db()
    assert member.role == "admin"
    owner_client.post(f"/team/invitations/{invitation.pk}/revoke/")
    assert not Invitation.objects.pending().filter(pk=invitation.pk).exists()


def test_the_plan_page_in_test_mode_shows_the_daily_cap(owner_client, account, test_env, settings):
    settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY = 40
    today = period_for(test_env)[0].date()
    MonthlyUsage.objects.create(account=test_env, period_start=today, used=7)
    MonthlyUsage.objects.create(account=test_env, period_start=today - timedelta(days=1), used=3)
    turn_test_mode(owner_client, True)

    page = owner_client.get("/plan/").content.decode()

    assert "Test mode today" in page and "7 of 40" in page
    assert "Test-mode messages by day" in page
    assert account.plan.display_name in page  # the live account's plan
    assert "This month" not in page
    overview = owner_client.get("/").content.decode()
    assert "7 of 40 test-mode messages today" in overview


def test_the_quota_banner_in_test_mode_speaks_of_the_daily_cap(
    owner_client, account, test_env, settings
):
    settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY = 10
    today = period_for(test_env)[0].date()
    usage = MonthlyUsage.objects.create(account=test_env, period_start=today, used=8)
    turn_test_mode(owner_client, True)

    near = owner_client.get("/messages/").content.decode()
    assert "Test mode has sent 8 of its 10 messages today" in near
    assert "this month" not in near

    usage.used = 10
    usage.save()
    full = owner_client.get("/messages/").content.decode()
    assert "Test mode has sent all 10 of today's test-mode messages" in full
    assert "Live sends are not affected" in full

    # The live account's quota is untouched: no banner once test mode is off.
    turn_test_mode(owner_client, False)
    assert "banner-warn" not in owner_client.get("/messages/").content.decode()


def test_the_overview_in_test_mode_says_channels_need_no_configuration(owner_client, test_env):
    turn_test_mode(owner_client, True)

    page = owner_client.get("/").content.decode()

    assert 'id="onboarding"' in page
    assert "In test mode every channel works without configuration" in page
    assert '<li class="done"><span class="tick">✓</span><a href="/channels/">Configure' in page


# --- API keys: two lists, either mode made and revoked here --------------------------------


def key_tables(html: str) -> tuple[str, str]:
    live = html.split('id="live-keys-table"')[1].split("</table>")[0]
    test = html.split('id="test-keys-table"')[1].split("</table>")[0]
    return live, test


@pytest.mark.parametrize("in_test_mode", [False, True])
def test_the_keys_page_lists_live_and_test_keys_apart_whatever_the_switch(
    owner_client, account, test_env, in_test_mode
):
    api_keys.issue_key(account, "live server")
    api_keys.issue_key(test_env, "staging server")
    turn_test_mode(owner_client, in_test_mode)

    live, test = key_tables(owner_client.get("/keys/").content.decode())

    assert "live server" in live and "op_live_" in live and "staging server" not in live
    assert "staging server" in test and "op_test_" in test and "live server" not in test


def test_a_key_of_either_mode_is_created_from_the_form(owner_client, account, test_env):
    made = owner_client.post(
        "/keys/new/", {"name": "ci", "scopes": ["send", "read"], "mode": "test"}
    ).content.decode()

    raw_key = re.search(r'id="new-key" type="text" value="([^"]+)"', made).group(1)
    assert raw_key.startswith("op_test_")
    assert "Your new test key" in made
    key = ApiKey.objects.get(name="ci")
    assert key.account == test_env and key.created_by_user.email == account.members.get().email
    assert "ci" in key_tables(made)[1]
    assert ApiClient(raw_key).get("/api/v1/account").status_code == 200

    # In test mode the form offers a test key first, and a live one is still one choice away.
    turn_test_mode(owner_client, True)
    form = owner_client.get("/keys/").content.decode()
    assert re.search(r'value="test"[^>]*checked', form)
    live = owner_client.post("/keys/new/", {"name": "prod", "scopes": ["send"], "mode": "live"})
    assert ApiKey.objects.get(name="prod").account == account
    assert "op_live_" in live.content.decode()
    owner_client.post("/keys/new/", {"name": "unsaid", "scopes": ["send"]})
    assert ApiKey.objects.get(name="unsaid").account == test_env  # the dashboard's mode


def test_keys_of_either_mode_are_revoked_but_nobody_elses(
    owner_client, account, test_env, make_account
):
    live_key, _ = api_keys.issue_key(account, "live")
    test_key, _ = api_keys.issue_key(test_env, "test")
    stranger = environments.test_environment(make_account("Stranger"))
    strangers_key, _ = api_keys.issue_key(stranger, "theirs")

    for key in (live_key, test_key):
        assert owner_client.post(f"/keys/{key.pk}/revoke/").status_code == 302
        key.refresh_from_db()
        assert key.revoked_at is not None
    turn_test_mode(owner_client, True)
    assert owner_client.post(f"/keys/{strangers_key.pk}/revoke/").status_code == 404
    strangers_key.refresh_from_db()
    assert strangers_key.revoked_at is None


def test_a_member_sees_both_lists_but_no_form(member_client, account, test_env):
    api_keys.issue_key(test_env, "staging server")
    turn_test_mode(member_client, True)

    page = member_client.get("/keys/").content.decode()

    assert "staging server" in key_tables(page)[1]
    assert "Create API key" not in page


# --- The message log, each mode its own ------------------------------------------------------


def test_each_modes_message_log_shows_only_its_own_messages(owner_client, account, test_env):
    channel_of(account)
    channel_of(test_env)
    _, live_raw = api_keys.issue_key(account, "live")
    _, test_raw = api_keys.issue_key(test_env, "test")
    live_message = send(ApiClient(live_raw), "live order shipped")["id"]
    test_message = send(ApiClient(test_raw), "test order shipped")["id"]

    live_log = owner_client.get("/messages/").content.decode()
    turn_test_mode(owner_client, True)
    test_log = owner_client.get("/messages/").content.decode()

    assert live_message in live_log and test_message not in live_log
    assert test_message in test_log and live_message not in test_log
    assert owner_client.get(f"/messages/{test_message}/").status_code == 200
    assert owner_client.get(f"/messages/{live_message}/").status_code == 404
    turn_test_mode(owner_client, False)
    assert owner_client.get(f"/messages/{test_message}/").status_code == 404


# --- The magic recipients page ---------------------------------------------------------------


@pytest.mark.parametrize("in_test_mode", [False, True])
def test_the_magic_recipients_page_shows_the_simulators_table(member_client, in_test_mode):
    turn_test_mode(member_client, in_test_mode)

    response = member_client.get(reverse("dashboard-magic-recipients"))

    assert response.status_code == 200
    page = response.content.decode()
    for row in magic.TABLE:
        assert row.example in page, row
        assert " → ".join(row.statuses) in page, row
    for title in ("Email addresses", "Phone numbers", "Chat identifiers"):
        assert title in page
    assert "Every channel works without configuration" in page


def test_the_magic_recipients_page_names_the_kinds_each_family_serves(member_client, monkeypatch):
    from channels_app.integrations import get_integration

    # Each kind declares its family (Integration.simulated_as); the page reads it.
    email = get_integration("email")
    monkeypatch.setattr(email, "simulated_as", magic.EMAIL, raising=False)

    page = member_client.get(reverse("dashboard-magic-recipients")).content.decode()

    section = page.split('id="magic-email"')[1].split("</section>")[0]
    assert f"For {email.title}" in section


# --- The admin -------------------------------------------------------------------------------


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(email="staff@example.com", password="x")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_lists_live_accounts_unless_asked(staff, account, test_env):
    changelist = reverse("admin:accounts_account_changelist")

    default = staff.get(changelist).content.decode()
    tests = staff.get(changelist, {"livemode": "test"}).content.decode()
    both = staff.get(changelist, {"livemode": "all"}).content.decode()

    change_of = lambda acct: reverse("admin:accounts_account_change", args=[quote(acct.pk)])  # noqa: E731
    assert change_of(account) in default and change_of(test_env) not in default
    assert change_of(test_env) in tests and change_of(account) not in tests
    assert change_of(account) in both and change_of(test_env) in both


def test_an_accounts_admin_page_links_its_test_environment_and_back(staff, account, test_env):
    live_page = staff.get(reverse("admin:accounts_account_change", args=[quote(account.pk)]))
    test_page = staff.get(reverse("admin:accounts_account_change", args=[quote(test_env.pk)]))

    assert live_page.status_code == test_page.status_code == 200
    live_html, test_html = live_page.content.decode(), test_page.content.decode()
    assert "Test environment: " in live_html
    assert reverse("admin:accounts_account_change", args=[quote(test_env.pk)]) in live_html
    assert "Live account: " in test_html
    assert reverse("admin:accounts_account_change", args=[quote(account.pk)]) in test_html
    assert "membership_set" not in test_html and "memberships-TOTAL_FORMS" not in test_html


def test_the_admin_cannot_make_a_test_environment_by_hand(staff, account):
    add = reverse("admin:accounts_account_add")
    form = staff.get(add).content.decode()
    assert 'name="livemode"' not in form and 'name="live_account"' not in form

    staff.post(
        add,
        {
            "name": "Forged",
            "slug": "forged",
            "plan": account.plan.pk,
            "livemode": "",
            "live_account": account.pk,
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    forged = Account.objects.get(slug="forged")
    assert forged.livemode is True and forged.live_account is None
    assert not Account.objects.filter(live_account=account).exists()


def test_a_plan_change_in_the_admin_carries_over_to_the_test_environment(staff, account, test_env):
    from accounts.models import Plan

    bigger = Plan.objects.create(name="big", display_name="Big", monthly_quota=10_000)
    staff.post(
        reverse("admin:accounts_account_change", args=[quote(account.pk)]),
        {
            "name": account.name,
            "slug": account.slug,
            "plan": bigger.pk,
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": Membership.objects.get(account=account).pk,
            "memberships-0-account": account.pk,
            "memberships-0-user": account.members.get().pk,
            "memberships-0-role": "owner",
        },
    )

    test_env.refresh_from_db()
    assert test_env.plan == bigger
    assert Account.objects.filter(pk__in=[account.pk, test_env.pk]).count() == 2
