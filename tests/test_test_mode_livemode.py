"""`livemode` on every API object (issue #20, Stripe's convention): true for the live
account's objects, false for its test environment's (accounts.environments), in the
schema, in every GET, in the /send answer and in event payloads as delivered."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import standardwebhooks.webhooks
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from accounts import api_keys, environments
from accounts.models import Account
from tests.conftest import ApiClient, send
from tests.hostile.objects import Objects, make_objects
from tests.test_tenant_isolation import API_LISTS, ROUTES, routes_with_parameters
from webhooks.models import InboundEventMessage

SLACK = {"kind": "slack", "config": {"webhook_url": "https://hooks.slack.example/services/T/B/X"}}


def objects_with_an_id(node, where: str = "") -> Iterator[tuple[str, dict]]:
    """Every JSON object (or schema of one) under `node` that has an `id`, with its path."""
    if isinstance(node, dict):
        if "id" in node:
            yield where, node
        for key, value in node.items():
            yield from objects_with_an_id(value, f"{where}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from objects_with_an_id(value, f"{where}[{n}]")


def test_every_schema_component_with_an_id_has_livemode(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    # A schema's `properties` (a component's, or a nested object's) naming an `id`.
    with_an_id = {
        where: properties
        for where, properties in objects_with_an_id(components)
        if where.endswith(".properties")
    }

    assert {"Accepted", "Account", "ApiKey", "Message", "Event", "WebhookAttempt"} <= {
        where.split(".")[1] for where in with_an_id
    }
    missing = [where for where, properties in with_an_id.items() if "livemode" not in properties]
    assert missing == [], "add a LivemodeField to these"
    for where, properties in with_an_id.items():
        assert properties["livemode"]["type"] == "boolean", where


# --- Every GET says which environment its objects belong to -------------------------------


@pytest.fixture
def both(account) -> dict[bool, tuple[Account, Objects]]:
    """livemode -> (environment, one object of every kind there)."""
    made = {}
    for environment in (account, environments.test_environment(account)):
        objects = make_objects(environment, tag=f"mode{environment.livemode}")
        # An inbound event's messages are objects of their own in its answer.
        InboundEventMessage.objects.create(
            event=objects.inbound_event, rule_id="r1", message=objects.message
        )
        made[environment.livemode] = environment, objects
    return made


def get_routes() -> list[str]:
    """Every API route answering GET: lists, and routes with an id (ROUTES fills the id)."""
    with_ids = routes_with_parameters()
    return sorted(API_LISTS) + sorted(
        name for name in ROUTES if "get" in getattr(with_ids[name].callback, "actions", {})
    )


@pytest.mark.parametrize("livemode", [True, False])
def test_every_get_shows_livemode_on_every_object(both, livemode):
    environment, objects = both[livemode]
    _, raw_key = api_keys.issue_key(environment, "reader")
    api = ApiClient(raw_key)
    urls = ["/api/v1/account"]
    for name in get_routes():
        kwargs = ROUTES[name](environment, objects) if name in ROUTES else {}
        query = API_LISTS[name][0] if name in API_LISTS else {}
        urls.append(f"{reverse(name, kwargs=kwargs)}?{urlencode(query)}")

    seen = 0
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200, url
        for where, node in objects_with_an_id(response.json()):
            # An event's payload is the event as delivered: it says livemode too.
            assert node.get("livemode") is livemode, f"{url}: {where or 'the body'}"
            seen += 1
    assert seen > len(urls)


def test_the_send_answer_says_livemode(api, account):
    test_api = ApiClient(api_keys.issue_key(environments.test_environment(account), "t")[1])
    for client in (api, test_api):
        assert client.post_json("/api/v1/channels", SLACK).status_code == 201

    live = send(api)
    test = send(test_api)

    assert live["livemode"] is True
    assert [d["livemode"] for d in live["deliveries"]] == [True]
    assert test["livemode"] is False
    assert [d["livemode"] for d in test["deliveries"]] == [False]
    # The message as listed agrees.
    assert test_api.get(f"/api/v1/messages/{test['id']}").json()["livemode"] is False


def test_the_account_seen_with_a_test_key_is_the_same_account_in_test_mode(api, account, settings):
    settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY = 7
    test_api = ApiClient(api_keys.issue_key(environments.test_environment(account), "t")[1])
    assert test_api.post_json("/api/v1/channels", SLACK).status_code == 201
    send(test_api)

    live = api.get("/api/v1/account").json()
    test = test_api.get("/api/v1/account").json()

    for field in ("id", "name", "slug", "created_at", "plan"):
        assert test[field] == live[field], field
    assert (live["livemode"], test["livemode"]) == (True, False)
    # Its usage is the day's test-mode cap, not the month's quota.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert test["usage"] == {
        "period_start": today.isoformat().replace("+00:00", "Z"),
        "period_end": (today + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "used": 1,
        "limit": 7,
        "remaining": 6,
    }
    assert live["usage"]["used"] == 0 and live["usage"]["limit"] == 100


# --- Events: the API and the HTTP request an endpoint receives ----------------------------


@pytest.mark.worker
def test_a_test_mode_endpoint_receives_a_signed_event_saying_livemode_false(
    celery_worker, account, receiver
):
    test_api = ApiClient(api_keys.issue_key(environments.test_environment(account), "t")[1])
    endpoint = test_api.post_json(
        "/api/v1/webhook-endpoints", {"url": f"{receiver.url}/hooks", "description": "test"}
    ).json()

    assert test_api.post_json(f"/api/v1/webhook-endpoints/{endpoint['id']}/test").status_code == 202

    [request] = receiver.wait_for(1, timeout=60)
    standardwebhooks.webhooks.Webhook(endpoint["secret"]).verify(request.body, request.headers)
    delivered = json.loads(request.body)
    assert delivered["livemode"] is False
    event = test_api.get(f"/api/v1/events/{delivered['id']}").json()
    assert event["livemode"] is False
    assert event["payload"] == delivered
    assert [d["livemode"] for d in event["webhook_deliveries"]] == [False]
