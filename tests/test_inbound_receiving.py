"""POST /hooks/in/<token>: signatures, limits, dedup — and nothing processed in the request."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from channels_app.models import Message
from tests.inbound_helpers import (
    as_json,
    fixture,
    github_headers,
    hmac_headers,
    shopify_headers,
    standard_headers,
    stripe_headers,
)
from webhooks.models import InboundEvent

GITHUB_SECRET = "It's a Secret to Everybody"
STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def make_inbound(api, channels):
    def make(verification: str, secret: str = "s3cret", **extra) -> dict:
        body = {
            "name": f"{verification} hook",
            "verification": verification,
            "secret": secret,
            "rules": [
                {
                    "event": "*",
                    "message": "got {{ event_type }}",
                    "channels": ["slack"],
                    "recipient": "ops",
                }
            ],
            **extra,
        }
        response = api.post_json("/api/v1/inbound-endpoints", body)
        assert response.status_code == 201, response.content
        return response.json()

    return make


def post(url: str, body: bytes, content_type: str = "application/json", **headers):
    path = url.split("testserver", 1)[-1]
    return Client().post(path, body, content_type=content_type, **headers)


def test_githubs_documented_test_vector_verifies(make_inbound):
    endpoint = make_inbound("github", secret=GITHUB_SECRET)
    body = b"Hello, World!"
    headers = github_headers(GITHUB_SECRET, body, "ping", "d-1")
    assert headers["HTTP_X_HUB_SIGNATURE_256"] == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )

    response = post(endpoint["url"], body, **headers)

    assert response.status_code == 200
    assert response.json()["received"] is True
    event = InboundEvent.objects.get()
    assert event.event_type == "ping"
    assert event.dedup_key == "d-1"
    assert response.json()["id"] == event.pk


def test_a_tampered_github_body_is_refused_and_nothing_is_stored(api, make_inbound):
    endpoint = make_inbound("github", secret=GITHUB_SECRET)
    headers = github_headers(GITHUB_SECRET, b"Hello, World!", "ping", "d-1")

    response = post(endpoint["url"], b"Hello, World?", **headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_signature"
    assert "mismatch" in error["message"].lower()
    assert InboundEvent.objects.count() == 0
    shown = api.get(f"/api/v1/inbound-endpoints/{endpoint['id']}").json()
    assert shown["failed_verifications"] == 1
    assert "mismatch" in shown["last_failure_reason"].lower()


def test_a_missing_header_says_which(make_inbound):
    endpoint = make_inbound("github", secret=GITHUB_SECRET)
    response = post(endpoint["url"], b"{}")
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["error"]["message"]


def test_standard_webhooks_signed_by_the_library_verifies(make_inbound):
    endpoint = make_inbound("standard_webhooks", secret=STANDARD_SECRET)
    body = as_json({"type": "invoice.paid", "data": {"id": 1}})

    response = post(endpoint["url"], body, **standard_headers(STANDARD_SECRET, body, "msg_1"))

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.event_type, event.dedup_key) == ("invoice.paid", "msg_1")
    tampered = post(
        endpoint["url"], body + b" ", **standard_headers(STANDARD_SECRET, body, "msg_2")
    )
    assert tampered.status_code == 401


def test_standard_webhooks_stale_timestamps_are_refused(make_inbound):
    endpoint = make_inbound("standard_webhooks", secret=STANDARD_SECRET)
    body = as_json({"type": "x"})
    old = datetime.now(UTC) - timedelta(minutes=10)

    response = post(endpoint["url"], body, **standard_headers(STANDARD_SECRET, body, "m", old))

    assert response.status_code == 401
    assert "tolerance" in response.json()["error"]["message"]


def test_a_pasted_signature_instead_of_a_secret_is_explained(make_inbound):
    endpoint = make_inbound(
        "standard_webhooks", secret="v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
    )
    body = as_json({"type": "x"})

    response = post(endpoint["url"], body, **standard_headers(STANDARD_SECRET, body, "m"))

    assert response.status_code == 401
    assert "whsec_" in response.json()["error"]["message"]


def test_stripe_signature_as_stripe_documents_it(make_inbound):
    secret = "whsec_test_stripe_secret"
    endpoint = make_inbound("stripe", secret=secret)
    body = fixture("stripe_payment_intent_succeeded.json")

    ok = post(endpoint["url"], body, **stripe_headers(secret, body))
    stale = post(
        endpoint["url"],
        body,
        **stripe_headers(secret, body, int(datetime.now(UTC).timestamp()) - 400),
    )
    tampered = post(endpoint["url"], body.replace(b"2000", b"9000"), **stripe_headers(secret, body))

    assert ok.status_code == 200
    event = InboundEvent.objects.get()
    assert event.event_type == "payment_intent.succeeded"
    assert event.dedup_key == "evt_3MtwBwLkdIwHu7ix28a3tqPa"
    assert stale.status_code == 401 and "tolerance" in stale.json()["error"]["message"]
    assert tampered.status_code == 401


def test_shopify_base64_hmac(make_inbound):
    secret = "shpss_0123456789abcdef"
    endpoint = make_inbound("shopify", secret=secret)
    body = fixture("shopify_orders_create.json")
    headers = shopify_headers(secret, body, "orders/create", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")

    assert post(endpoint["url"], body, **headers).status_code == 200
    assert post(endpoint["url"], body + b"\n", **headers).status_code == 401
    event = InboundEvent.objects.get()
    assert event.event_type == "orders/create"
    assert event.dedup_key == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def test_hmac_sha256_in_a_custom_header_with_or_without_prefix(make_inbound):
    endpoint = make_inbound("hmac_sha256", secret="k", signature_header="X-Signature")
    body = as_json({"event": "deploy.done"})
    headers = hmac_headers("k", body, "X-Signature")

    assert post(endpoint["url"], body, **headers).status_code == 200
    # The bare hex digest of the body it comes with is accepted too (README: "a sha256=
    # prefix is fine")…
    again = as_json({"event": "deploy.again"})
    bare = {
        key: value.removeprefix("sha256=")
        for key, value in hmac_headers("k", again, "X-Signature").items()
    }
    assert not any(value.startswith("sha256=") for value in bare.values())
    assert post(endpoint["url"], again, **bare).status_code == 200
    # …and a bare digest of another body is still a mismatch.
    other = post(endpoint["url"], as_json({"event": "forged"}), **bare)
    assert other.status_code == 401
    assert "mismatch" in other.json()["error"]["message"]
    assert sorted(InboundEvent.objects.values_list("event_type", flat=True)) == [
        "deploy.again",
        "deploy.done",
    ]


def test_none_verification_takes_event_from_the_body(make_inbound):
    endpoint = make_inbound("none", secret="")
    assert post(endpoint["url"], as_json({"type": "ping"})).status_code == 200
    assert InboundEvent.objects.get().event_type == "ping"


def test_unknown_or_disabled_token_is_404_and_oversized_is_413(api, make_inbound, settings):
    endpoint = make_inbound("none", secret="")
    base = endpoint["url"].rsplit("/", 1)[0]

    unknown = post(f"{base}/not-a-token", b"{}")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"

    big = b"x" * (1024 * 1024 + 1)
    too_large = post(endpoint["url"], big)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "payload_too_large"

    assert Client().get(endpoint["url"].split("testserver", 1)[-1]).status_code == 405
    api.patch(
        f"/api/v1/inbound-endpoints/{endpoint['id']}",
        {"enabled": False},
        content_type="application/json",
    )
    assert post(endpoint["url"], b"{}").status_code == 404
    assert InboundEvent.objects.count() == 0


def test_a_duplicate_is_acknowledged_and_not_stored_again(make_inbound):
    endpoint = make_inbound("github", secret=GITHUB_SECRET)
    body = fixture("github_push.json")
    headers = github_headers(GITHUB_SECRET, body, "push", "72d3162e-cc78-11e3-81ab-4c9367dc0958")

    first = post(endpoint["url"], body, **headers)
    again = post(endpoint["url"], body, **headers)

    assert first.json()["received"] is True and "duplicate" not in first.json()
    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    assert InboundEvent.objects.count() == 1


def test_bodies_without_an_id_dedupe_on_their_hash(make_inbound):
    endpoint = make_inbound("none", secret="")
    post(endpoint["url"], as_json({"event": "a"}))
    post(endpoint["url"], as_json({"event": "a"}))
    post(endpoint["url"], as_json({"event": "b"}))
    assert InboundEvent.objects.count() == 2


def test_github_form_encoded_payload(make_inbound):
    from urllib.parse import urlencode

    endpoint = make_inbound("github", secret=GITHUB_SECRET)
    body = urlencode({"payload": fixture("github_pull_request.json").decode()}).encode()
    headers = github_headers(GITHUB_SECRET, body, "pull_request", "d-form")

    response = post(
        endpoint["url"], body, content_type="application/x-www-form-urlencoded", **headers
    )

    assert response.status_code == 200
    assert InboundEvent.objects.get().content_type == "application/x-www-form-urlencoded"


def test_the_request_stores_without_rendering_or_sending(make_inbound, slack):
    endpoint = make_inbound("none", secret="")
    post(endpoint["url"], as_json({"event": "x"}), HTTP_COOKIE="session=abc")

    event = InboundEvent.objects.get()
    assert event.status == "received"
    assert Message.objects.count() == 0
    assert slack.requests == []
    assert "Cookie" not in event.headers


def test_stored_headers_drop_the_senders_credentials(api, make_inbound):
    """GitLab, Asana, API gateways… send tokens in headers: members would read them in
    the event's headers (dashboard, API, admin). Signatures stay: they are evidence."""
    endpoint = make_inbound("github", secret=GITHUB_SECRET)
    body = as_json({"action": "opened"})
    credentials = {
        "HTTP_AUTHORIZATION": "Bearer s3cr3t-1",
        "HTTP_PROXY_AUTHORIZATION": "Basic s3cr3t-2",
        "HTTP_COOKIE": "session=s3cr3t-3",
        "HTTP_X_GITLAB_TOKEN": "s3cr3t-4",
        "HTTP_X_API_KEY": "s3cr3t-5",
        "HTTP_X_HOOK_SECRET": "s3cr3t-6",
        "HTTP_X_AUTH_TOKEN": "s3cr3t-7",
        "HTTP_X_WEBHOOK_SECRET": "s3cr3t-8",
        "HTTP_X_GOOG_CHANNEL_TOKEN": "s3cr3t-9",
        "HTTP_X_ACCESS_TOKEN": "s3cr3t-10",
    }
    signed = github_headers(GITHUB_SECRET, body, "pull_request", "d-creds")

    response = post(
        endpoint["url"], body, HTTP_USER_AGENT="GitHub-Hookshot/1", **signed, **credentials
    )

    assert response.status_code == 200
    stored = InboundEvent.objects.get().headers
    assert "s3cr3t" not in str(stored)
    assert stored["X-Github-Event"] == "pull_request"
    assert stored["X-Hub-Signature-256"] == signed["HTTP_X_HUB_SIGNATURE_256"]
    assert stored["User-Agent"] == "GitHub-Hookshot/1"
    shown = api.get(f"/api/v1/inbound-events/{InboundEvent.objects.get().pk}").json()
    assert "s3cr3t" not in str(shown)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_HUB_SIGNATURE_256": "sha256=ü" * 3},
        {"HTTP_X_HUB_SIGNATURE_256": "md5=abc"},
        {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64},
        {"HTTP_X_HUB_SIGNATURE_256": ""},
    ],
)
def test_hostile_signature_headers_get_401_never_500(make_inbound, headers):
    endpoint = make_inbound("github", secret=GITHUB_SECRET)
    response = post(endpoint["url"], b"\xff\xfe not utf-8", **headers)
    assert response.status_code == 401


def test_20_concurrent_identical_deliveries_store_one_event(transactional_db, account, slack):
    from accounts import api_keys
    from channels_app.models import ChannelConfig
    from tests.conftest import ApiClient

    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/h"}
    )
    _, key = api_keys.issue_key(account, "k")
    endpoint = (
        ApiClient(key)
        .post_json(
            "/api/v1/inbound-endpoints",
            {
                "name": "gh",
                "verification": "github",
                "secret": GITHUB_SECRET,
                "rules": [
                    {"event": "push", "message": "push", "channels": ["slack"], "recipient": "x"}
                ],
            },
        )
        .json()
    )
    body = fixture("github_push.json")
    headers = github_headers(GITHUB_SECRET, body, "push", "same-delivery")

    def deliver(_):
        try:
            return post(endpoint["url"], body, **headers).json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(deliver, range(20)))

    assert all(answer["received"] for answer in answers)
    assert sum(1 for answer in answers if answer.get("duplicate")) == 19
    assert InboundEvent.objects.count() == 1
