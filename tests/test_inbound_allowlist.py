"""`allowed_ips`: an inbound URL that only takes requests from the sender's networks. The
client's address is the socket's, or X-Forwarded-For's through ONEPING_TRUSTED_PROXY_COUNT
trusted proxies; a request from elsewhere is 403 ip_not_allowed and nothing is stored."""

import html

import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import wait_until
from tests.inbound_helpers import as_json, create_inbound_endpoint, hmac_headers, inbound_path
from tests.test_settings import start_django
from webhooks.inbound import receiving
from webhooks.models import InboundEndpoint, InboundEvent

SECRET = "allow-secret"
# GitHub's hook ranges are published at https://api.github.com/meta ("hooks"); these are
# documentation networks (RFC 5737, RFC 3849) standing in for them.
SENDER_NETWORKS = ["192.0.2.0/24", "2001:db8::/32"]
BODY = as_json({"event": "deploy", "service": "api"})


@pytest.fixture
def endpoint(api, channels) -> dict:
    return create_inbound_endpoint(
        api,
        verification="hmac_sha256",
        secret=SECRET,
        allowed_ips=SENDER_NETWORKS,
        rules=[
            {
                "event": "*",
                "message": "{{ service }} deployed",
                "channels": ["slack"],
                "recipient": "ops",
            }
        ],
    )


def post(endpoint: dict, remote_addr: str, body: bytes = BODY, **headers):
    return Client().post(
        inbound_path(endpoint),
        body,
        content_type="application/json",
        REMOTE_ADDR=remote_addr,
        **{**hmac_headers(SECRET, body), **headers},
    )


def assert_refused(response, address: str) -> None:
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "ip_not_allowed"
    assert address in error["message"]
    assert not InboundEvent.objects.exists()


def test_a_request_from_an_allowed_network_reaches_slack(endpoint, slack, celery_worker):
    response = post(endpoint, "192.0.2.10")

    assert response.status_code == 200, response.content
    wait_until(lambda: slack.requests, timeout=30)
    assert slack.requests[0].json() == {"text": "api deployed"}


@pytest.mark.parametrize("address", ["198.51.100.7", "2001:db9::1", "127.0.0.1"])
def test_a_request_from_elsewhere_is_refused_and_nothing_is_stored(endpoint, address):
    response = post(endpoint, address)

    assert_refused(response, address)


def test_ipv6_and_ipv4_mapped_addresses_are_matched(endpoint):
    assert post(endpoint, "2001:db8::5").status_code == 200
    assert post(endpoint, "::ffff:192.0.2.44", as_json({"event": "b"})).status_code == 200


def test_the_address_is_checked_before_the_signature(endpoint):
    # A bad signature from elsewhere is refused for its address, before any HMAC.
    response = post(endpoint, "198.51.100.7", HTTP_X_WEBHOOK_SIGNATURE="sha256=00")

    assert_refused(response, "198.51.100.7")
    reason = InboundEndpoint.objects.get().last_failure_reason
    assert "198.51.100.7" in reason
    assert "allowed_ips" in reason


def test_a_refused_address_is_counted_like_a_failed_verification(api, endpoint):
    post(endpoint, "198.51.100.7")

    shown = api.get(f"/api/v1/inbound-endpoints/{endpoint['id']}").json()
    assert shown["failed_verifications"] == 1
    assert shown["last_failure_reason"] == (
        "Requests from 198.51.100.7 are not accepted by this inbound URL (allowed_ips)."
    )
    assert shown["last_failure_at"] is not None
    assert not InboundEvent.objects.exists()


def test_refusals_write_the_row_at_most_once_per_interval(endpoint, monkeypatch):
    # A long interval, so the test does not depend on how fast it runs.
    monkeypatch.setattr(receiving, "REFUSAL_WRITE_SECONDS", 3600)
    cache.delete(f"inbound:ip-refusal-written:{endpoint['id']}")

    for address in ("198.51.100.7", "198.51.100.8", "198.51.100.9"):
        assert_refused(post(endpoint, address), address)

    row = InboundEndpoint.objects.get()
    assert row.failed_verifications == 1
    assert "198.51.100.7" in row.last_failure_reason  # the first one, the one written

    # The interval is over: the next refusal is written again.
    cache.delete(f"inbound:ip-refusal-written:{endpoint['id']}")
    assert_refused(post(endpoint, "203.0.113.9"), "203.0.113.9")
    row.refresh_from_db()
    assert row.failed_verifications == 2
    assert "203.0.113.9" in row.last_failure_reason


def test_refused_requests_count_against_the_rate_limit(endpoint, settings):
    # The allowlist comes after the rate limit: a flood from outside is answered 429 like any.
    settings.ONEPING_INBOUND_RATE_PER_ENDPOINT = 0.1
    settings.ONEPING_INBOUND_BURST_PER_ENDPOINT = 2

    assert post(endpoint, "198.51.100.7").status_code == 403
    assert post(endpoint, "198.51.100.7").status_code == 403
    assert post(endpoint, "192.0.2.10").status_code == 429


def test_x_forwarded_for_is_ignored_without_trusted_proxies(endpoint):
    # The client wrote the header itself: it proves nothing.
    response = post(endpoint, "198.51.100.7", HTTP_X_FORWARDED_FOR="192.0.2.10")

    assert_refused(response, "198.51.100.7")


def test_through_one_trusted_proxy_the_address_it_saw_counts(endpoint, settings):
    settings.ONEPING_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    # The proxy appended the peer it saw (192.0.2.10); the client's own entries are ignored.
    allowed = post(endpoint, proxy, HTTP_X_FORWARDED_FOR="198.51.100.7, 192.0.2.10")
    spoofed = post(
        endpoint, proxy, as_json({"event": "b"}), HTTP_X_FORWARDED_FOR="192.0.2.10, 203.0.113.9"
    )

    assert allowed.status_code == 200, allowed.content
    assert InboundEvent.objects.get().remote_ip == "192.0.2.10"  # the client's, not the proxy's
    assert spoofed.status_code == 403
    assert "203.0.113.9" in spoofed.json()["error"]["message"]
    assert InboundEvent.objects.count() == 1


def test_through_two_trusted_proxies(endpoint, settings):
    settings.ONEPING_TRUSTED_PROXY_COUNT = 2

    allowed = post(endpoint, "10.0.0.3", HTTP_X_FORWARDED_FOR="203.0.113.9, 192.0.2.10, 10.0.0.2")
    # Fewer entries than proxies: the request did not come through them.
    bypassed = post(endpoint, "10.0.0.3", as_json({"event": "b"}))
    garbled = post(endpoint, "10.0.0.3", as_json({"event": "c"}), HTTP_X_FORWARDED_FOR="x, y")

    assert allowed.status_code == 200, allowed.content
    for response in (bypassed, garbled):
        assert response.status_code == 403
        assert response.json()["error"]["message"].startswith("The client's address cannot")


def test_an_endpoint_without_allowed_ips_takes_any_address(api, channels):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        rules=[{"event": "*", "message": "x", "channels": ["slack"], "recipient": "o"}],
    )

    response = Client().post(
        inbound_path(endpoint), BODY, content_type="application/json", REMOTE_ADDR="203.0.113.9"
    )

    assert response.status_code == 200
    assert endpoint["allowed_ips"] == []


def test_allowed_ips_are_stored_as_networks_and_can_be_changed(api, endpoint):
    changed = api.patch(
        f"/api/v1/inbound-endpoints/{endpoint['id']}",
        {"allowed_ips": ["203.0.113.7", " 2001:DB8::/32 "]},
        content_type="application/json",
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["allowed_ips"] == ["203.0.113.7/32", "2001:db8::/32"]
    assert post(endpoint, "203.0.113.7").status_code == 200
    assert post(endpoint, "192.0.2.10", as_json({"event": "b"})).status_code == 403


@pytest.mark.parametrize(
    ("value", "message_start"),
    [
        ("192.0.2.0/24", "allowed_ips: A list of networks"),
        (["192.0.2.0/24", 7], "allowed_ips[1]: Must be a string"),
        (["192.0.2.300"], "allowed_ips[0]: '192.0.2.300' is not an IP network."),
        (
            ["192.0.2.1/24"],
            "allowed_ips[0]: '192.0.2.1/24' has host bits set; did you mean 192.0.2.0/24?",
        ),
        ([f"10.0.{i}.0/24" for i in range(101)], "allowed_ips: At most 100 networks."),
    ],
)
def test_allowed_ips_are_validated(api, channels, value, message_start):
    response = api.post_json(
        "/api/v1/inbound-endpoints",
        {"name": "x", "verification": "none", "allowed_ips": value, "rules": []},
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(message_start), error


def test_a_negative_trusted_proxy_count_stops_the_process(tmp_path):
    result = start_django(tmp_path, DEBUG="true", ONEPING_TRUSTED_PROXY_COUNT="-1")

    assert result.returncode != 0
    assert "ImproperlyConfigured: ONEPING_TRUSTED_PROXY_COUNT=-1" in result.stderr


def test_the_dashboard_form_takes_networks_and_event_type_from(owner_client, account):
    response = owner_client.post(
        "/inbound/new/",
        {
            "name": "GitLab",
            "verification": "none",
            "allowed_ips": "192.0.2.0/24\r\n2001:db8::/32\r\n",
            "event_type_from": '{"header": "X-Gitlab-Event"}',
        },
    )

    assert response.status_code == 302, response.content.decode()
    endpoint = InboundEndpoint.objects.get()
    assert endpoint.allowed_ips == SENDER_NETWORKS
    assert endpoint.event_type_from == {"header": "X-Gitlab-Event"}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"allowed_ips": "192.0.2.1/24"}, "allowed_ips", "did you mean 192.0.2.0/24?"),
        ({"event_type_from": '{"header": "X-Auth-Token"}'}, "event_type_from", "credentials"),
        ({"event_type_from": "{oops"}, "event_type_from", "Not valid JSON"),
    ],
)
def test_the_dashboard_shows_the_apis_errors_next_to_the_fields(
    owner_client, account, fields, field, message
):
    response = owner_client.post("/inbound/new/", {"name": "x", "verification": "none", **fields})

    text = html.unescape(response.content.decode())
    assert message in text
    block = text.split(f'for="id_{field}"', 1)[0].rsplit('<div class="field', 1)[1]
    assert "has-error" in block
    assert not InboundEndpoint.objects.exists()
