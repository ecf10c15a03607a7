"""Shared by the simulator's tests (tests/test_simulator*.py): a test environment with an
op_test_ key, a test-mode webhook endpoint, and what a delivery went through."""

import json

from standardwebhooks.webhooks import Webhook

from accounts import api_keys, environments
from accounts.models import Account
from channels_app.integrations import get_integration
from channels_app.integrations.simulator import magic
from channels_app.models import Delivery
from tests.conftest import ApiClient
from tests.fakes import FakeHTTPProvider

# A delivery's steps that are not outcomes: acceptance, claims, pacing waits.
NOT_OUTCOMES = {"standby", "queued", "sending"}


def op_test_client(account: Account) -> ApiClient:
    """An API client with an op_test_ key of `account`'s test environment."""
    _, raw_key = api_keys.issue_key(environments.test_environment(account), "tests")
    assert raw_key.startswith("op_test_")
    return ApiClient(raw_key)


def webhook_endpoint(api: ApiClient, receiver: FakeHTTPProvider) -> str:
    """A webhook endpoint for every event type, made with `api`'s key; its secret."""
    response = api.post_json(
        "/api/v1/webhook-endpoints", {"url": f"{receiver.url}/events", "event_types": []}
    )
    assert response.status_code == 201, response.content
    assert response.json()["livemode"] is False
    return response.json()["secret"]


def expected_statuses(kind: str, entry: magic.Magic) -> tuple[str, ...]:
    """The statuses the magic table documents for `entry` on a channel of `kind`."""
    if entry.statuses_with_read and "read" in get_integration(kind).fate_steps:
        return entry.statuses_with_read
    return entry.statuses


def outcome_statuses(delivery: Delivery) -> list[str]:
    """The statuses a delivery went through, as its timeline shows them: attempts'
    outcomes and the reports that changed it (not acceptance, claims, waits or reports
    that changed nothing)."""
    return [
        step.status
        for step in delivery.steps
        if step.status not in NOT_OUTCOMES and "(no change:" not in (step.detail or "")
    ]


def verified_events(receiver: FakeHTTPProvider, secret: str) -> list[dict]:
    """Every event the receiver got, each verified by the standardwebhooks library."""
    events = []
    for request in list(receiver.requests):
        headers = {name.lower(): value for name, value in request.headers.items()}
        events.append(Webhook(secret).verify(request.body, headers))
    return events


def events_of(events: list[dict], delivery_id: str) -> list[dict]:
    """The message events about one delivery, in the order of their sequence."""
    mine = [e for e in events if e["data"].get("delivery_id") == delivery_id]
    return sorted(mine, key=lambda e: e["data"]["sequence"])


def event_types(events: list[dict]) -> list[str]:
    return [event["event"] for event in events]


def raw_bodies(receiver: FakeHTTPProvider) -> list[dict]:
    return [json.loads(request.body) for request in list(receiver.requests)]
