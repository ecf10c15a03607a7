"""Account B can never reach account A's objects by id: every route that takes an id, every
method it allows, answers 404 (never 403, never A's data) and leaves A's rows as they were.

The routes come from Django's URL resolver, so a new route with an id fails
`test_every_route_with_an_id_is_covered` until it is added to ROUTES (or, if its parameter
is not an object id, to NOT_OBJECT_IDS with the reason).
"""

import json
from collections.abc import Callable, Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts import api_keys
from accounts.models import Account, ApiKey, Invitation, Membership, User
from channels_app.models import (
    ChannelConfig,
    Contact,
    Delivery,
    Message,
    Suppression,
    TimelineEntry,
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

MARKER = "alpha"  # every object of A carries it (names, bodies, URLs, errors, emails)
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


@pytest.fixture
def tenants(make_account):
    account_a = make_account("Alpha", email="alpha-owner@example.com")
    account_b = make_account("Beta", email="beta-owner@example.com")
    objects_a = make_objects(account_a, tag=MARKER)
    objects_b = make_objects(account_b, tag="beta")  # B's own objects: ids exist on both sides
    return account_a, objects_a, account_b, objects_b


def _call(client, method: str, url: str, api: bool):
    if api:
        return client.generic(
            method.upper(), url, json.dumps(BODY), CONTENT_TYPE="application/json"
        )
    return client.get(url) if method == "get" else client.post(url, BODY)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_another_accounts_object_is_404_by_every_method(name, tenants, client):
    account_a, objects_a, account_b, _ = tenants
    pattern = routes_with_parameters()[name]
    api = hasattr(pattern.callback, "actions")
    if api:
        client = ApiClient(_key_of(account_b))
        methods = [m for m in API_METHODS if m in pattern.callback.actions]
    else:
        client.force_login(User.objects.get(email="beta-owner@example.com"))
        methods = list(DASHBOARD_METHODS)
    url = reverse(name, kwargs=ROUTES[name](account_a, objects_a))
    before = snapshot(account_a)

    answers = {method: _call(client, method, url, api) for method in methods}

    for method, response in answers.items():
        where = f"{method.upper()} {url}"
        assert MARKER not in response.content.decode(errors="replace").lower(), where
        if api:
            assert response.status_code == 404, where
            assert response.json()["error"]["code"] == "not_found", where
        else:
            # require_POST answers a GET 405 before looking at the id; that is no leak.
            assert response.status_code in (404, 405), where
    assert 404 in {response.status_code for response in answers.values()}
    assert snapshot(account_a) == before


def _key_of(account: Account) -> str:
    _, raw_key = api_keys.issue_key(account, "attacker")
    return raw_key


def test_ids_in_bodies_and_filters_reach_only_the_callers_objects(tenants, client):
    account_a, objects_a, account_b, objects_b = tenants
    api = ApiClient(_key_of(account_b))
    client.force_login(User.objects.get(email="beta-owner@example.com"))
    before = snapshot(account_a)

    # Filters by another account's ids find nothing.
    for path, query in [
        ("/api/v1/deliveries", {"message": objects_a.message.pk}),
        ("/api/v1/events", {"message": objects_a.message.pk}),
        ("/api/v1/inbound-events", {"endpoint": objects_a.inbound_endpoint.pk}),
    ]:
        response = api.get(path, query)
        assert response.status_code == 200 and response.json()["results"] == [], path
    # Ids in bodies: replay to A's endpoint, reprocess A's dead letters.
    replay = api.post_json(
        f"/api/v1/events/{objects_b.event.pk}/replay",
        {"endpoint_id": objects_a.webhook_endpoint.pk},
    )
    assert replay.status_code == 404
    reprocess = api.post_json(
        "/api/v1/inbound-events/reprocess", {"ids": [objects_a.inbound_event.pk]}
    )
    assert reprocess.status_code == 202 and reprocess.json() == {"queued": 0}
    client.post(
        f"/webhooks/{objects_b.webhook_endpoint.pk}/replay/", {"event_id": objects_a.event.pk}
    )
    for kind, row in [
        ("deliveries", objects_a.delivery),
        ("inbound", objects_a.inbound_event),
        ("webhooks", objects_a.event.webhook_deliveries.get()),
    ]:
        client.post("/failed/reprocess/", {"kind": kind, "one": row.pk})

    assert snapshot(account_a) == before
    assert not WebhookDelivery.objects.filter(account=account_b, event=objects_a.event).exists()


# --- Lists: B's lists never contain A's rows --------------------------------------------

# API list route -> (query, the attribute of Objects whose id B's own list must show).
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
# Dashboard list page -> something of B's own that the page must show.
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


@pytest.mark.parametrize("name", sorted(API_LISTS))
def test_an_api_list_shows_only_the_callers_rows(name, tenants):
    _, objects_a, account_b, objects_b = tenants
    query, own = API_LISTS[name]

    response = ApiClient(_key_of(account_b)).get(reverse(name), query)

    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    listed = {row["id"] for row in rows}
    assert listed, f"{name}: B's own rows should be listed"
    assert str(getattr(objects_b, own).pk) in listed
    text = response.content.decode()
    for a_id in ids_of(objects_a):
        assert a_id not in text, f"{name} lists A's {a_id}"
    assert MARKER not in text.lower()


@pytest.mark.parametrize("name", sorted(DASHBOARD_LISTS))
def test_a_dashboard_list_shows_only_the_callers_rows(name, tenants, client):
    _, objects_a, _, objects_b = tenants
    client.force_login(User.objects.get(email="beta-owner@example.com"))

    response = client.get(reverse(name))

    assert response.status_code == 200
    text = response.content.decode()
    assert DASHBOARD_LISTS[name](objects_b) in text, f"{name}: B's own rows should be listed"
    for a_id in ids_of(objects_a):
        assert a_id not in text, f"{name} shows A's {a_id}"
    assert MARKER not in text.lower()
