"""The inbound preview (issue #18): a delivery pasted from the sender's log answers what
would happen at the endpoint (verification, the failed check, the timestamp apart, the
event type, the rendered messages, the errors) and nothing is stored or sent."""

import html
import json
import time

import pytest

from accounts import api_keys
from accounts.usage import usage_for
from channels_app.models import ChannelConfig, Message
from tests import inbound_signing
from tests.conftest import ApiClient
from tests.inbound_helpers import create_inbound_endpoint, fixture, shopify_headers, stripe_headers
from tests.test_inbound_rules_fanout import ORDER_RULES
from tests.test_inbound_rules_fanout import SECRET as SHOPIFY_SECRET
from webhooks.inbound.receiving import MAX_BODY_BYTES
from webhooks.models import InboundEndpoint, InboundEvent

STALE = int(time.time()) - 3 * 24 * 3600  # a delivery from three days ago, as in a log


def as_headers(meta: dict[str, str]) -> dict[str, str]:
    """Django test-client META names (HTTP_X_SLACK_SIGNATURE) as the sender's log shows
    them (X-Slack-Signature)."""
    return {
        name.removeprefix("HTTP_").replace("_", "-").title(): value for name, value in meta.items()
    }


def preview(api, endpoint: dict, headers: dict[str, str], body: bytes):
    return api.post_json(
        f"/api/v1/inbound-endpoints/{endpoint['id']}/preview",
        {"headers": headers, "body": body.decode()},
    )


def shopify_endpoint(api, rules=ORDER_RULES) -> dict:
    return create_inbound_endpoint(api, verification="shopify", secret=SHOPIFY_SECRET, rules=rules)


def shopify_delivery(secret: str = SHOPIFY_SECRET) -> tuple[dict[str, str], bytes]:
    body = fixture("shopify_orders_create.json")
    headers = as_headers(shopify_headers(secret, body, "orders/create", "w-1"))
    return {**headers, "Content-Type": "application/json"}, body


def assert_nothing_stored_or_sent(account, endpoint: dict) -> None:
    assert not InboundEvent.objects.exists()
    assert not Message.objects.exists()
    assert usage_for(account).used == 0
    stored = InboundEndpoint.objects.get(pk=endpoint["id"])
    assert stored.failed_verifications == 0
    assert stored.last_failure_reason == ""


def test_a_verified_shopify_order_shows_both_rendered_messages_and_stores_nothing(
    api, account, channels
):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()

    response = preview(api, endpoint, headers, body)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["verified"] is True
    assert answer["failure"] is None
    assert answer["timestamp_ok"] is True
    assert answer["event_type"] == "orders/create"
    assert answer["errors"] == []
    assert answer["messages"] == [
        {
            "rule": "customer-email",
            "channels": ["email"],
            "fallback_channels": [],
            "recipient": "john@example.com",
            "subject": "Your order #1234",
            "message": "Thanks John, we got order #1234.",
            "metadata": {"order": "1234"},
        },
        {
            "rule": "sales-slack",
            "channels": ["slack"],
            "fallback_channels": [],
            "recipient": "sales",
            "subject": "",
            "message": "New order #1234: $403.00",
            "metadata": {},
        },
    ]
    assert_nothing_stored_or_sent(account, endpoint)


def test_a_wrong_signature_names_the_check_and_counts_no_failure(api, account, channels):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery(secret="shpss_someone_else")

    answer = preview(api, endpoint, headers, body).json()

    assert answer["verified"] is False
    assert answer["failure"] == "signature"
    assert "Signature mismatch" in answer["reason"]
    assert SHOPIFY_SECRET not in json.dumps(answer)
    assert answer["messages"] == [] and answer["event_type"] is None
    assert_nothing_stored_or_sent(account, endpoint)


def test_a_missing_signature_header_names_the_header_check(api, account, channels):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()
    del headers["X-Shopify-Hmac-Sha256"]

    answer = preview(api, endpoint, headers, body).json()

    assert (answer["verified"], answer["failure"]) == (False, "header")
    assert "X-Shopify-Hmac-Sha256" in answer["reason"]


SLACK_SECRET = "slack-signing-secret"
SLACK_RULES = [
    {
        "event": "app_mention",
        "message": "<@{{ event.user }}> said: {{ event.text }}",
        "channels": ["slack"],
        "recipient": "ops",
    }
]
SLACK_BODY = json.dumps(
    {
        "type": "event_callback",
        "event_id": "Ev1",
        "event": {"type": "app_mention", "user": "U1", "text": "deploy is done"},
    }
).encode()


def test_a_stale_slack_delivery_is_verified_with_the_timestamp_reported_apart(
    api, account, channels
):
    endpoint = create_inbound_endpoint(
        api, verification="slack", secret=SLACK_SECRET, rules=SLACK_RULES
    )
    headers = as_headers(inbound_signing.slack(SLACK_SECRET, SLACK_BODY, timestamp=STALE))

    answer = preview(api, endpoint, headers, SLACK_BODY).json()

    assert answer["verified"] is True
    assert answer["timestamp_ok"] is False
    assert answer["failure"] is None
    assert "Timestamp check failed" in answer["reason"]
    assert answer["event_type"] == "app_mention"
    assert [m["message"] for m in answer["messages"]] == ["<@U1> said: deploy is done"]
    assert_nothing_stored_or_sent(account, endpoint)


def test_a_stale_slack_delivery_with_a_wrong_signature_is_refused_for_its_signature(
    api, account, channels
):
    endpoint = create_inbound_endpoint(
        api, verification="slack", secret=SLACK_SECRET, rules=SLACK_RULES
    )
    headers = as_headers(inbound_signing.slack("not-the-secret", SLACK_BODY, timestamp=STALE))

    answer = preview(api, endpoint, headers, SLACK_BODY).json()

    assert (answer["verified"], answer["failure"], answer["timestamp_ok"]) == (
        False,
        "signature",
        False,
    )
    assert answer["messages"] == []
    assert_nothing_stored_or_sent(account, endpoint)


def test_a_stale_stripe_delivery_is_verified_with_timestamp_ok_false(api, account, channels):
    secret = "whsec_preview"
    endpoint = create_inbound_endpoint(
        api,
        verification="stripe",
        secret=secret,
        rules=[
            {
                "event": "invoice.paid",
                "message": "Paid: {{ data.object.id }}",
                "channels": ["slack"],
                "recipient": "billing",
            }
        ],
    )
    body = json.dumps(
        {"id": "evt_1", "type": "invoice.paid", "data": {"object": {"id": "in_1"}}}
    ).encode()
    headers = as_headers(stripe_headers(secret, body, timestamp=STALE))

    answer = preview(api, endpoint, headers, body).json()

    assert (answer["verified"], answer["timestamp_ok"]) == (True, False)
    assert [m["message"] for m in answer["messages"]] == ["Paid: in_1"]
    assert_nothing_stored_or_sent(account, endpoint)


def test_a_when_error_is_listed_in_errors_and_nothing_is_sent(api, account, channels):
    rules = [*ORDER_RULES, {**ORDER_RULES[1], "id": "big-orders", "when": "1 / 0 > 1"}]
    endpoint = shopify_endpoint(api, rules=rules)
    headers, body = shopify_delivery()

    answer = preview(api, endpoint, headers, body).json()

    assert answer["verified"] is True
    assert answer["messages"] == []
    [error] = answer["errors"]
    assert error.startswith("rule 'big-orders': when: ")
    assert "division by zero" in error
    assert_nothing_stored_or_sent(account, endpoint)


def test_another_accounts_endpoint_is_not_found(api, account, channels, make_account):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()
    stranger = ApiClient(api_keys.issue_key(make_account("Other"), "tests")[1])

    response = preview(stranger, endpoint, headers, body)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_send_scoped_key_may_not_preview(api, account, channels):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()
    sender = ApiClient(api_keys.issue_key(account, "sender", scopes=["send"])[1])

    response = preview(sender, endpoint, headers, body)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"headers": {}}, "body"),
        ({"headers": ["X-A: 1"], "body": "{}"}, "headers"),
        ({"headers": {f"X-H{i}": "v" for i in range(101)}, "body": "{}"}, "headers"),
        ({"headers": {"X-A": {"nested": 1}}, "body": "{}"}, "headers"),
    ],
)
def test_bad_input_gets_the_documented_error_shape(api, account, channels, data, field):
    endpoint = shopify_endpoint(api)

    response = api.post_json(f"/api/v1/inbound-endpoints/{endpoint['id']}/preview", data)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in json.dumps(error["details"])


def test_a_body_over_the_receiving_cap_is_refused(api, account, channels, settings):
    settings.ONEPING_API_MAX_BODY_BYTES = 4 * MAX_BODY_BYTES  # only the preview's cap applies
    endpoint = shopify_endpoint(api)

    response = api.post_json(
        f"/api/v1/inbound-endpoints/{endpoint['id']}/preview",
        {"headers": {}, "body": "x" * (MAX_BODY_BYTES + 1)},
    )

    assert response.status_code == 400, response.content
    assert "body" in json.dumps(response.json()["error"]["details"])
    assert_nothing_stored_or_sent(account, InboundEndpoint.objects.values("id").get())


def form_headers(headers: dict[str, str]) -> str:
    return "\r\n".join(f"{name}: {value}" for name, value in headers.items())


def test_the_dashboard_form_shows_the_rendered_messages_and_stores_nothing(
    api, account, channels, owner_client
):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()

    response = owner_client.post(
        f"/inbound/{endpoint['id']}/preview/",
        {"headers": form_headers(headers), "body": body.decode()},
    )

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "verified" in page
    assert "Thanks John, we got order #1234." in page
    assert "New order #1234: $403.00" in page
    assert_nothing_stored_or_sent(account, endpoint)


def test_the_dashboard_form_says_which_check_failed(api, account, channels, owner_client):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery(secret="shpss_someone_else")

    response = owner_client.post(
        f"/inbound/{endpoint['id']}/preview/",
        {"headers": form_headers(headers), "body": body.decode()},
    )

    page = html.unescape(response.content.decode())
    assert "Refused (signature check): Signature mismatch" in page
    assert "Thanks John" not in page
    assert_nothing_stored_or_sent(account, endpoint)


def test_a_header_line_without_a_colon_is_shown_on_the_form(api, account, channels, owner_client):
    endpoint = shopify_endpoint(api)

    response = owner_client.post(
        f"/inbound/{endpoint['id']}/preview/", {"headers": "X-A 1", "body": "{}"}
    )

    assert response.status_code == 400
    assert "Line 1: write Name: value." in html.unescape(response.content.decode())


def test_a_member_cannot_preview(api, account, channels, member_client):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()

    response = member_client.post(
        f"/inbound/{endpoint['id']}/preview/",
        {"headers": form_headers(headers), "body": body.decode()},
    )

    assert response.status_code == 403
    assert (
        "Preview a delivery"
        not in member_client.get(f"/inbound/{endpoint['id']}/").content.decode()
    )


PREVIEW_RATE = 0.01  # one more preview every 100 s: none within a test


@pytest.fixture
def preview_limit(settings):
    settings.ONEPING_INBOUND_PREVIEW_RATE_PER_ACCOUNT = PREVIEW_RATE
    settings.ONEPING_INBOUND_PREVIEW_BURST_PER_ACCOUNT = 2


def test_previews_past_the_accounts_burst_get_429_rate_limited(
    api, account, channels, make_account, preview_limit
):
    endpoint = shopify_endpoint(api)
    other = shopify_endpoint(api, rules=ORDER_RULES[:1])
    headers, body = shopify_delivery()

    first = preview(api, endpoint, headers, body)
    second = preview(api, other, headers, body)  # the account's limit: all its endpoints
    refused = preview(api, endpoint, headers, body)

    assert (first.status_code, second.status_code) == (200, 200)
    assert refused.status_code == 429, refused.content
    retry_after = int(refused["Retry-After"])
    assert retry_after >= 1
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert "Retry-After" in error["message"]
    assert error["details"] == {
        "limit": "account",
        "rate": PREVIEW_RATE,
        "burst": 2,
        "retry_after": retry_after,
    }
    assert_nothing_stored_or_sent(account, endpoint)


def test_another_accounts_previews_are_not_limited_by_this_one(
    api, account, channels, make_account, preview_limit
):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()
    for _ in range(2):
        assert preview(api, endpoint, headers, body).status_code == 200
    other_account = make_account("Other")
    stranger = ApiClient(api_keys.issue_key(other_account, "tests")[1])
    ChannelConfig.objects.bulk_create(
        ChannelConfig(account=other_account, kind=c.kind, config=c.config)
        for c in ChannelConfig.objects.filter(account=account)
    )
    theirs = shopify_endpoint(stranger)

    assert preview(stranger, theirs, headers, body).status_code == 200


def test_the_dashboard_form_says_the_preview_is_rate_limited(
    api, account, channels, owner_client, preview_limit
):
    endpoint = shopify_endpoint(api)
    headers, body = shopify_delivery()
    form = {"headers": form_headers(headers), "body": body.decode()}
    for _ in range(2):
        assert owner_client.post(f"/inbound/{endpoint['id']}/preview/", form).status_code == 200

    response = owner_client.post(f"/inbound/{endpoint['id']}/preview/", form)

    assert response.status_code == 429
    page = html.unescape(response.content.decode())
    assert "Your account may run previews at most 0.01 requests a second" in page
    assert "Thanks John" not in page
