"""Webhook and inbound endpoints are capped per account (issue #13, fan-out amplification).

Every webhook endpoint gets its own copy of every event, so without a cap one free account
multiplies each send into as many outgoing requests as it likes. The API and the dashboard
create through one service (webhooks.endpoints), so they refuse alike: 400 limit_reached
naming the limit.
"""

import html
from concurrent.futures import ThreadPoolExecutor

from django.db import connection

from accounts.limits import limit_for
from accounts.models import Account
from tests.conftest import ApiClient, set_caps
from webhooks.models import InboundEndpoint, WebhookEndpoint

WEBHOOK = {"url": "https://receiver.example/hooks", "description": "ops"}
INBOUND = {"name": "alerts", "verification": "none", "rules": []}


def assert_limit_reached(response, limit: int) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "limit_reached"
    assert error["details"]["limit"] == limit
    assert str(limit) in error["message"]


def test_the_21st_webhook_endpoint_is_refused_naming_the_limit(api, account):
    for n in range(20):
        created = api.post_json("/api/v1/webhook-endpoints", {**WEBHOOK, "description": f"{n}"})
        assert created.status_code == 201, created.content

    refused = api.post_json("/api/v1/webhook-endpoints", WEBHOOK)

    assert_limit_reached(refused, 20)
    assert refused.json()["error"]["details"]["resource"] == "webhook_endpoints"
    assert WebhookEndpoint.objects.filter(account=account).count() == 20


def test_the_21st_inbound_endpoint_is_refused_naming_the_limit(api, account):
    for n in range(20):
        created = api.post_json("/api/v1/inbound-endpoints", {**INBOUND, "name": f"{n}"})
        assert created.status_code == 201, created.content

    refused = api.post_json("/api/v1/inbound-endpoints", INBOUND)

    assert_limit_reached(refused, 20)
    assert refused.json()["error"]["details"]["resource"] == "inbound_endpoints"
    assert InboundEndpoint.objects.filter(account=account).count() == 20


def test_disabled_endpoints_count_and_deleting_one_makes_room(api, account):
    set_caps(account, max_webhook_endpoints=2)
    first = api.post_json("/api/v1/webhook-endpoints", WEBHOOK).json()
    api.post_json("/api/v1/webhook-endpoints", {**WEBHOOK, "enabled": False})

    assert_limit_reached(api.post_json("/api/v1/webhook-endpoints", WEBHOOK), 2)

    api.delete(f"/api/v1/webhook-endpoints/{first['id']}")
    assert api.post_json("/api/v1/webhook-endpoints", WEBHOOK).status_code == 201


def test_the_cap_is_per_account(api, account, make_account, make_api_client):
    set_caps(account, max_inbound_endpoints=1)
    other = make_api_client(make_account("Other"))
    assert api.post_json("/api/v1/inbound-endpoints", INBOUND).status_code == 201

    assert other.post_json("/api/v1/inbound-endpoints", INBOUND).status_code == 201
    assert_limit_reached(api.post_json("/api/v1/inbound-endpoints", INBOUND), 1)


def test_limit_for_reads_the_plan(account):
    set_caps(account, max_webhook_endpoints=7, max_inbound_endpoints=8, max_api_keys=9)

    assert limit_for(account, "webhook_endpoints") == 7
    assert limit_for(account, "inbound_endpoints") == 8
    assert limit_for(account, "api_keys") == 9
    assert limit_for(account, "members") == 5
    assert limit_for(account, "test_sends_per_day") == 20


def test_the_dashboard_refuses_a_webhook_endpoint_over_the_limit(owner_client, api, account):
    set_caps(account, max_webhook_endpoints=1)
    assert api.post_json("/api/v1/webhook-endpoints", WEBHOOK).status_code == 201

    response = owner_client.post("/webhooks/new/", {"url": "https://other.example/hooks"})

    assert response.status_code == 400
    text = html.unescape(response.content.decode())
    assert "This account already has 1 webhook endpoints, its limit" in text
    assert WebhookEndpoint.objects.filter(account=account).count() == 1
    # Editing an existing endpoint is not creating one.
    endpoint = WebhookEndpoint.objects.get(account=account)
    edited = owner_client.post(f"/webhooks/{endpoint.pk}/edit/", {"url": "https://new.example/h"})
    assert edited.status_code == 302


def test_the_dashboard_refuses_an_inbound_endpoint_over_the_limit(owner_client, api, account):
    set_caps(account, max_inbound_endpoints=1)
    assert api.post_json("/api/v1/inbound-endpoints", INBOUND).status_code == 201

    response = owner_client.post("/inbound/new/", {"name": "second", "verification": "none"})

    assert response.status_code == 400
    text = html.unescape(response.content.decode())
    assert "This account already has 1 inbound endpoints, its limit" in text
    assert InboundEndpoint.objects.filter(account=account).count() == 1


def test_concurrent_creations_never_pass_the_limit(transactional_db, settings):
    from accounts import api_keys, services

    _, account = services.create_user_with_account(
        email="race@example.com", password="correct-horse-battery", account_name="Race"
    )
    set_caps(account, max_webhook_endpoints=3)
    _, key = api_keys.issue_key(account, "race")

    def create(n: int) -> int:
        try:
            response = ApiClient(key).post_json(
                "/api/v1/webhook-endpoints", {**WEBHOOK, "description": f"{n}"}
            )
            return response.status_code
        finally:
            connection.close()  # each thread has its own connection; give it back

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(create, range(12)))

    assert sorted(answers) == [201] * 3 + [400] * 9
    assert WebhookEndpoint.objects.filter(account=Account.objects.get(pk=account.pk)).count() == 3
