"""Account B can never reach account A's objects by id: every route that takes an id, every
method it allows, answers 404 (never 403, never A's data) and leaves A's rows as they were.

The matrix has a third axis, the mode (test mode, accounts.environments): an account's live
keys never reach its test environment's objects and its test keys never reach its live ones,
in the API and in the dashboard with test mode switched on or off, as if they were two
accounts (ATTACKS).

The routes come from Django's URL resolver, so a new route with an id fails
`test_every_route_with_an_id_is_covered` until it is added to ROUTES (or, if its parameter
is not an object id, to NOT_OBJECT_IDS with the reason).
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import api_keys, current, environments
from accounts.models import Account, ApiKey, Invitation, Membership, User
from accounts.usage import billing_period
from channels_app.models import (
    ChannelConfig,
    Contact,
    Delivery,
    Message,
    Suppression,
    TimelineEntry,
    UsageRollup,
)
from tests.conftest import ApiClient
from tests.hostile.objects import Objects, make_objects
from webhooks.models import (
    Event,
    InboundEndpoint,
    InboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

API_METHODS = ("get", "post", "put", "patch", "delete")
DASHBOARD_METHODS = ("get", "post")
# A plausible body for every write, so no view can answer 400 before it looks the id up.
BODY = {
    "name": "pwned",
    "identifier": "pwned",
    "url": "https://pwned.example/hook",
    "kind": "slack",
    "config": {"webhook_url": "https://pwned.example/slack"},
    "recipient": "pwned",
    "since": "2020-01-01T00:00:00Z",
    "enabled": False,
    "verification": "none",
    "role": "member",
    "event_id": "evt_x",
}

# Route name -> A's URL parameters, from A's objects.
ROUTES: dict[str, Callable[[Account, Objects], dict]] = {
    # API
    "api-key-detail": lambda a, o: {"pk": o.api_key.pk},
    "channel-detail": lambda a, o: {"pk": o.channel.pk},
    "channel-test": lambda a, o: {"pk": o.channel.pk},
    "contact-detail": lambda a, o: {"pk": o.contact.pk},
    "message-detail": lambda a, o: {"pk": o.message.pk},
    "delivery-detail": lambda a, o: {"pk": o.delivery.pk},
    "delivery-retry": lambda a, o: {"pk": o.delivery.pk},
    "webhook-endpoint-detail": lambda a, o: {"pk": o.webhook_endpoint.pk},
    "webhook-endpoint-attempts": lambda a, o: {"pk": o.webhook_endpoint.pk},
    "webhook-endpoint-recover": lambda a, o: {"pk": o.webhook_endpoint.pk},
    "webhook-endpoint-rotate-secret": lambda a, o: {"pk": o.webhook_endpoint.pk},
    "webhook-endpoint-secret": lambda a, o: {"pk": o.webhook_endpoint.pk},
    "webhook-endpoint-test": lambda a, o: {"pk": o.webhook_endpoint.pk},
    "event-detail": lambda a, o: {"pk": o.event.pk},
    "event-replay": lambda a, o: {"pk": o.event.pk},
    "inbound-endpoint-detail": lambda a, o: {"pk": o.inbound_endpoint.pk},
    "inbound-endpoint-preview": lambda a, o: {"pk": o.inbound_endpoint.pk},
    "inbound-event-detail": lambda a, o: {"pk": o.inbound_event.pk},
    "inbound-event-reprocess": lambda a, o: {"pk": o.inbound_event.pk},
    "suppression-detail": lambda a, o: {"pk": o.suppression.pk},
    # Dashboard
    "switch-account": lambda a, o: {"account_id": a.pk},
    "dashboard-key-revoke": lambda a, o: {"key_id": o.api_key.pk},
    "dashboard-team-role": lambda a, o: {"membership_id": o.membership.pk},
    "dashboard-team-remove": lambda a, o: {"membership_id": o.membership.pk},
    "dashboard-invitation-revoke": lambda a, o: {"invitation_id": o.invitation.pk},
    "dashboard-channel-test-result": lambda a, o: {"delivery_id": o.delivery.pk},
    "dashboard-contact-edit": lambda a, o: {"contact_id": o.contact.pk},
    "dashboard-contact-delete": lambda a, o: {"contact_id": o.contact.pk},
    "dashboard-message": lambda a, o: {"message_id": o.message.pk},
    "dashboard-delivery-retry": lambda a, o: {"delivery_id": o.delivery.pk},
    "dashboard-suppression-lift": lambda a, o: {"suppression_id": o.suppression.pk},
    **{
        name: lambda a, o: {"endpoint_id": o.webhook_endpoint.pk}
        for name in (
            "dashboard-webhook",
            "dashboard-webhook-edit",
            "dashboard-webhook-toggle",
            "dashboard-webhook-delete",
            "dashboard-webhook-secret",
            "dashboard-webhook-rotate",
            "dashboard-webhook-test",
            "dashboard-webhook-replay",
            "dashboard-webhook-recover",
        )
    },
    **{
        name: lambda a, o: {"endpoint_id": o.inbound_endpoint.pk}
        for name in (
            "dashboard-inbound-endpoint",
            "dashboard-inbound-edit",
            "dashboard-inbound-toggle",
            "dashboard-inbound-delete",
            "dashboard-inbound-preview",
        )
    },
    "dashboard-inbound-event": lambda a, o: {
        "endpoint_id": o.inbound_endpoint.pk,
        "event_id": o.inbound_event.pk,
    },
}

NOT_OBJECT_IDS = {
    "inbound-webhook": "the token is the sender's capability, not an id (any holder may post)",
    "provider-callback": (
        "a provider name and the channel's callback token: trusted for the provider's "
        "signature, looked up only among that channel's account's deliveries "
        "(tests/test_provider_callbacks.py)"
    ),
    "dashboard-invite-accept": "the token is the invitee's capability: any holder may join",
    **{
        name: (
            "a signed token naming one delivery (the recipient's capability): a forged or "
            "another installation's token is 404 (tests/test_own_tracking*.py)"
        )
        for name in ("tracking-open", "tracking-click")
    },
    "dashboard-channel-save": "a channel kind, looked up in the session's own account",
    "dashboard-channel-delete": "a channel kind, looked up in the session's own account",
    "dashboard-channel-test": "a channel kind, looked up in the session's own account",
}
OUT_OF_SCOPE_PREFIXES = ("admin/", "accounts/")  # Django's admin (staff only) and allauth


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def routes_with_parameters() -> dict[str, URLPattern]:
    found = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        takes_parameter = "<" in route or "(?P" in route
        if takes_parameter and not route.startswith(OUT_OF_SCOPE_PREFIXES):
            found[pattern.name] = pattern
    return found


def test_every_route_with_an_id_is_covered():
    found = set(routes_with_parameters())

    assert found - set(ROUTES) - set(NOT_OBJECT_IDS) == set(), "add these routes to ROUTES"
    assert set(ROUTES) - found == set(), "these routes no longer exist"


def snapshot(account: Account) -> dict[str, list[dict]]:
    """Every row A owns, with every field (updated_at, secrets, statuses, counters…)."""
    mine = {"account": account}
    querysets = {
        "account": Account.objects.filter(pk=account.pk),
        "members": User.objects.filter(memberships__account=account),
        "memberships": Membership.objects.filter(**mine),
        "invitations": Invitation.objects.filter(**mine),
        "api keys": ApiKey.objects.filter(**mine),
        "channels": ChannelConfig.objects.filter(**mine),
        "contacts": Contact.objects.filter(**mine),
        "messages": Message.objects.filter(**mine),
        "deliveries": Delivery.objects.filter(**mine),
        "timeline": TimelineEntry.objects.filter(delivery__account=account),
        "webhook endpoints": WebhookEndpoint.objects.filter(**mine),
        "events": Event.objects.filter(**mine),
        "webhook deliveries": WebhookDelivery.objects.filter(**mine),
        "webhook attempts": WebhookAttempt.objects.filter(endpoint__account=account),
        "inbound endpoints": InboundEndpoint.objects.filter(**mine),
        "inbound events": InboundEvent.objects.filter(**mine),
        "suppressions": Suppression.objects.filter(**mine),
    }
    return {
        name: [
            {field: bytes(v) if isinstance(v, memoryview) else v for field, v in row.items()}
            for row in queryset.order_by("pk").values()
        ]
        for name, queryset in querysets.items()
    }


# --- Who attacks whose objects -------------------------------------------------------------

LIVE, TEST = environments.LIVE, environments.TEST


@dataclass(frozen=True)
class Party:
    name: str  # the account's: "alpha" or "beta"
    mode: str  # LIVE, or TEST: its test environment (accounts.environments)


# The caller, and the party whose objects it aims at. The last two rows are the mode axis:
# one account's live and test environments are as foreign to each other as two accounts.
ATTACKS: dict[str, tuple[Party, Party]] = {
    "another account": (Party("beta", LIVE), Party("alpha", LIVE)),
    "another account in test mode": (Party("beta", TEST), Party("alpha", TEST)),
    "live on test": (Party("alpha", LIVE), Party("alpha", TEST)),
    "test on live": (Party("alpha", TEST), Party("alpha", LIVE)),
}
# Members and invitations belong to the live account only (people are members of the live
# row, accounts.environments): a test environment has none to aim at.
PEOPLE_ROUTES = {"dashboard-team-role", "dashboard-team-remove", "dashboard-invitation-revoke"}
# The dashboard's keys page manages the account's keys of both environments, live and test
# keys listed apart whatever the switch (tests/test_dashboard_test_mode.py): off the mode
# axis, on the cross-account one. The API keeps keys apart (a live key never sees a test key).
BOTH_MODES_ROUTES = {"dashboard-key-revoke", "dashboard-keys"}


@dataclass
class Side:
    party: Party
    account: Account  # the environment: a test environment is an Account row of its own
    objects: Objects
    # Every object of the side carries its tag (names, bodies, URLs, errors, emails).
    tag: str

    def api(self) -> ApiClient:
        """An API client with a key of this side (op_test_ for a test environment)."""
        return ApiClient(_key_of(self.account))

    def dashboard(self, client: Client) -> Client:
        """`client` logged in as the side's owner, test mode switched on for a test side."""
        client.force_login(User.objects.get(email=f"{self.party.name}-owner@example.com"))
        session = client.session
        session[current.TEST_MODE_KEY] = self.party.mode == TEST
        session.save()
        return client

    def forbidden_to(self, caller: "Side") -> str:
        """What no answer to `caller` may contain: this side's account name when the caller
        is another account, else this side's tag (the caller's own pages name the account)."""
        return self.tag if caller.party.name == self.party.name else self.party.name


@pytest.fixture
def sides(make_account) -> Callable[[str], tuple[Side, Side]]:
    """sides(attack) -> (caller, target), each with its own objects: ids exist on both."""

    def make(attack: str) -> tuple[Side, Side]:
        made: dict[Party, Side] = {}
        lives: dict[str, Account] = {}
        for party in ATTACKS[attack]:
            if party.name not in lives:
                lives[party.name] = make_account(
                    party.name.title(), email=f"{party.name}-owner@example.com"
                )
            live = lives[party.name]
            account = environments.environment(live, party.mode)
            tag = f"{party.name}{party.mode}"
            made[party] = Side(party, account, make_objects(account, tag=tag), tag)
        caller, target = ATTACKS[attack]
        return made[caller], made[target]

    return make


def applies(name: str, attack: str) -> bool:
    caller, target = ATTACKS[attack]
    if name in PEOPLE_ROUTES:
        return caller.name != target.name and target.mode == LIVE
    if name in BOTH_MODES_ROUTES:
        return caller.name != target.name
    if name == "switch-account":  # switching to one's own live account is no attack
        return not (caller.name == target.name and target.mode == LIVE)
    return True


def _call(client, method: str, url: str, api: bool):
    if api:
        return client.generic(
            method.upper(), url, json.dumps(BODY), CONTENT_TYPE="application/json"
        )
    return client.get(url) if method == "get" else client.post(url, BODY)


@pytest.mark.parametrize(
    ("name", "attack"),
    [(name, attack) for name in sorted(ROUTES) for attack in ATTACKS if applies(name, attack)],
)
def test_an_object_of_another_account_or_mode_is_404_by_every_method(name, attack, sides, client):
    caller, target = sides(attack)
    pattern = routes_with_parameters()[name]
    api = hasattr(pattern.callback, "actions")
    if api:
        client = caller.api()
        methods = [m for m in API_METHODS if m in pattern.callback.actions]
    else:
        client = caller.dashboard(client)
        methods = list(DASHBOARD_METHODS)
    url = reverse(name, kwargs=ROUTES[name](target.account, target.objects))
    before = snapshot(target.account)

    answers = {method: _call(client, method, url, api) for method in methods}

    for method, response in answers.items():
        where = f"{method.upper()} {url}"
        text = response.content.decode(errors="replace").lower()
        assert target.forbidden_to(caller) not in text, where
        if api:
            assert response.status_code == 404, where
            assert response.json()["error"]["code"] == "not_found", where
        else:
            # require_POST answers a GET 405 before looking at the id; that is no leak.
            assert response.status_code in (404, 405), where
    assert 404 in {response.status_code for response in answers.values()}
    assert snapshot(target.account) == before


def _key_of(account: Account) -> str:
    _, raw_key = api_keys.issue_key(account, "attacker")
    return raw_key


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_ids_in_bodies_and_filters_reach_only_the_callers_objects(attack, sides, client):
    caller, target = sides(attack)
    api = caller.api()
    client = caller.dashboard(client)
    before = snapshot(target.account)

    # Filters by the target's ids find nothing.
    for path, query in [
        ("/api/v1/deliveries", {"message": target.objects.message.pk}),
        ("/api/v1/events", {"message": target.objects.message.pk}),
        ("/api/v1/inbound-events", {"endpoint": target.objects.inbound_endpoint.pk}),
    ]:
        response = api.get(path, query)
        assert response.status_code == 200 and response.json()["results"] == [], path
    # Ids in bodies: replay to the target's endpoint, reprocess its dead letters.
    replay = api.post_json(
        f"/api/v1/events/{caller.objects.event.pk}/replay",
        {"endpoint_id": target.objects.webhook_endpoint.pk},
    )
    assert replay.status_code == 404
    reprocess = api.post_json(
        "/api/v1/inbound-events/reprocess", {"ids": [target.objects.inbound_event.pk]}
    )
    assert reprocess.status_code == 202 and reprocess.json() == {"queued": 0}
    client.post(
        f"/webhooks/{caller.objects.webhook_endpoint.pk}/replay/",
        {"event_id": target.objects.event.pk},
    )
    for kind, row in [
        ("deliveries", target.objects.delivery),
        ("inbound", target.objects.inbound_event),
        ("webhooks", target.objects.event.webhook_deliveries.get()),
    ]:
        client.post("/failed/reprocess/", {"kind": kind, "one": row.pk})

    assert snapshot(target.account) == before
    assert not WebhookDelivery.objects.filter(
        account=caller.account, event=target.objects.event
    ).exists()


# --- Lists: a caller's lists never contain the target's rows --------------------------

# API list route -> (query, the attribute of Objects whose id the caller's list must show).
API_LISTS: dict[str, tuple[dict, str | None]] = {
    "api-key-list": ({}, "api_key"),
    "channel-list": ({}, "channel"),
    "contact-list": ({}, "contact"),
    "message-list": ({}, "message"),
    "delivery-list": ({"status": "failed"}, "delivery"),  # the dead letters
    "webhook-endpoint-list": ({}, "webhook_endpoint"),
    "event-list": ({}, "event"),
    "inbound-endpoint-list": ({}, "inbound_endpoint"),
    "inbound-event-list": ({"status": "failed"}, "inbound_event"),
    "suppression-list": ({}, "suppression"),
}
# Dashboard list page -> something of the caller's own that the page must show.
DASHBOARD_LISTS: dict[str, Callable[[Objects], str]] = {
    "overview": lambda o: o.delivery.last_error,  # recent failures
    "dashboard-channels": lambda o: "Slack",
    "dashboard-contacts": lambda o: o.contact.identifier,
    "dashboard-messages": lambda o: o.message.pk,
    "dashboard-webhooks": lambda o: o.webhook_endpoint.url,
    "dashboard-inbound": lambda o: o.inbound_endpoint.name,
    "dashboard-failed": lambda o: o.delivery.pk,
    "dashboard-keys": lambda o: o.api_key.name,
    "dashboard-team": lambda o: o.membership.user.email,
    "dashboard-suppressions": lambda o: o.suppression.address,
}


def ids_of(objects: Objects) -> list[str]:
    return [
        str(getattr(objects, name).pk)
        for name in (
            "api_key",
            "channel",
            "contact",
            "message",
            "delivery",
            "webhook_endpoint",
            "event",
            "inbound_endpoint",
            "inbound_event",
            "suppression",
        )
    ]


def test_every_api_list_route_is_covered():
    found = {
        pattern.name
        for route, pattern in _walk(get_resolver().url_patterns)
        if route.startswith("api/") and (pattern.name or "").endswith("-list")
    }

    assert found == set(API_LISTS), "add new list routes to API_LISTS"


# API routes that list what is no account's (the same answer for every caller) -> why.
API_SHARED_LISTS: dict[str, str] = {
    "api-plans": "the public plans (accounts.models.Plan), not an account's rows",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("name", sorted(API_SHARED_LISTS))
def test_a_shared_api_list_is_the_same_for_everyone_and_names_no_account(name, attack, sides):
    caller, target = sides(attack)

    mine = caller.api().get(reverse(name))
    theirs = target.api().get(reverse(name))

    assert mine.status_code == theirs.status_code == 200
    assert mine.json() == theirs.json()
    text = mine.content.decode()
    for target_id in ids_of(target.objects) + ids_of(caller.objects):
        assert target_id not in text, f"{name} shows {target_id}"
    assert target.forbidden_to(caller) not in text.lower()


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("name", sorted(API_LISTS))
def test_an_api_list_shows_only_the_callers_rows(name, attack, sides):
    caller, target = sides(attack)
    query, own = API_LISTS[name]

    response = caller.api().get(reverse(name), query)

    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    listed = {row["id"] for row in rows}
    assert listed, f"{name}: the caller's own rows should be listed"
    assert str(getattr(caller.objects, own).pk) in listed
    text = response.content.decode()
    for target_id in ids_of(target.objects):
        assert target_id not in text, f"{name} lists {target.tag}'s {target_id}"
    assert target.forbidden_to(caller) not in text.lower()


@pytest.mark.parametrize(
    ("name", "attack"),
    [
        (name, attack)
        for name in sorted(DASHBOARD_LISTS)
        for attack, (caller, _) in ATTACKS.items()
        # The team page lists people, who belong to the live account only.
        if (name != "dashboard-team" or caller.mode == LIVE) and applies(name, attack)
    ],
)
def test_a_dashboard_list_shows_only_the_callers_rows(name, attack, sides, client):
    caller, target = sides(attack)
    client = caller.dashboard(client)

    response = client.get(reverse(name))

    assert response.status_code == 200
    text = response.content.decode()
    shown = DASHBOARD_LISTS[name](caller.objects)
    assert shown in text, f"{name}: the caller's own rows should be listed"
    for target_id in ids_of(target.objects):
        assert target_id not in text, f"{name} shows {target.tag}'s {target_id}"
    assert target.forbidden_to(caller) not in text.lower()


# --- The usage history: numbers, not rows with ids -------------------------------------


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_usage_history_counts_only_the_callers_deliveries(attack, sides, client):
    caller, target = sides(attack)
    month = billing_period()[0].date()
    for n, side in enumerate((caller, target)):
        UsageRollup.objects.create(
            account=side.account, month=month, channel=f"kind{n}", status="delivered", count=10 + n
        )

    body = caller.api().get(reverse("api-usage"), {"months": 1}).json()["data"][0]
    page = caller.dashboard(client).get(reverse("dashboard-plan")).content.decode()

    # (besides what make_objects counted for the caller: a Slack delivery)
    assert body["by_channel"]["kind0"] == 10
    assert "kind1" not in body["by_channel"]
    assert body["by_status"]["delivered"] in (10, 11)  # not the target's 11 on top
    assert ">kind0</th>" in page
    assert "kind1" not in page
