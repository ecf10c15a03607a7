"""/hooks/in/<token> is rate-limited per endpoint and per account, in the shared cache:
over either limit → 429 rate_limited with Retry-After, in the error shape, nothing stored."""

import pytest
from django.test import Client

from oneping import ratelimit
from tests.inbound_helpers import as_json, create_inbound_endpoint, inbound_path
from webhooks.models import InboundEndpoint, InboundEvent

# Windows of burst / rate = 100 s: a test lasts a few seconds, so the counts barely decay
# and the request after the burst is refused even on a slow machine.
RATE = 0.1


@pytest.fixture
def limits(settings):
    settings.ONEPING_INBOUND_RATE_PER_ENDPOINT = RATE
    settings.ONEPING_INBOUND_BURST_PER_ENDPOINT = 10
    settings.ONEPING_INBOUND_RATE_PER_ACCOUNT = RATE
    settings.ONEPING_INBOUND_BURST_PER_ACCOUNT = 15


def post(endpoint: dict, n: int):
    return Client().post(
        inbound_path(endpoint), as_json({"event": "x", "n": n}), content_type="application/json"
    )


def assert_rate_limited(response, limit: str, burst: int) -> None:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    retry_after = int(response["Retry-After"])
    assert retry_after >= 1
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert "Retry-After" in error["message"]
    assert error["details"] == {
        "limit": limit,
        "rate": RATE,
        "burst": burst,
        "retry_after": retry_after,
    }


def test_an_endpoint_over_its_burst_gets_429_and_nothing_is_stored(api, limits):
    endpoint = create_inbound_endpoint(api, verification="none")

    answers = [post(endpoint, n) for n in range(12)]

    assert [a.status_code for a in answers] == [200] * 10 + [429] * 2
    assert_rate_limited(answers[10], "endpoint", 10)
    assert InboundEvent.objects.count() == 10
    refused = InboundEndpoint.objects.get(pk=endpoint["id"])
    assert refused.failed_verifications == 0  # refused before the signature was looked at


def test_an_account_over_its_burst_gets_429_on_every_endpoint(
    api, limits, make_account, make_api_client
):
    first = create_inbound_endpoint(api, verification="none", name="first")
    second = create_inbound_endpoint(api, verification="none", name="second")
    elsewhere = create_inbound_endpoint(make_api_client(make_account()), verification="none")

    to_first = [post(first, n) for n in range(10)]
    to_second = [post(second, 100 + n) for n in range(6)]

    assert {a.status_code for a in to_first} == {200}
    # The second endpoint is far from its own limit (10) but the account's 15 are used.
    assert [a.status_code for a in to_second] == [200] * 5 + [429]
    assert_rate_limited(to_second[5], "account", 15)
    assert InboundEvent.objects.filter(endpoint_id=first["id"]).count() == 10
    assert InboundEvent.objects.filter(endpoint_id=second["id"]).count() == 5
    # Another account's endpoints have their own counts.
    assert post(elsewhere, 1).status_code == 200


def test_a_refused_request_does_not_count(settings):
    # burst 2 at 0.01/s: two admitted, then refusals that leave the count at 2.
    name = "tests:refused-do-not-count"
    admitted = [ratelimit.hit(name, rate=0.01, burst=2) for _ in range(5)]

    assert admitted[:2] == [None, None]
    assert all(wait is not None and wait > 0 for wait in admitted[2:])


def test_a_rate_of_zero_turns_the_limit_off(api, settings):
    settings.ONEPING_INBOUND_RATE_PER_ENDPOINT = 0
    settings.ONEPING_INBOUND_RATE_PER_ACCOUNT = 0
    endpoint = create_inbound_endpoint(api, verification="none")

    assert {post(endpoint, n).status_code for n in range(30)} == {200}


def test_the_defaults_are_50_a_second_per_endpoint_and_200_per_account():
    from oneping import settings as defaults

    assert (
        defaults.ONEPING_INBOUND_RATE_PER_ENDPOINT,
        defaults.ONEPING_INBOUND_BURST_PER_ENDPOINT,
    ) == (
        50,
        100,
    )
    assert (
        defaults.ONEPING_INBOUND_RATE_PER_ACCOUNT,
        defaults.ONEPING_INBOUND_BURST_PER_ACCOUNT,
    ) == (
        200,
        400,
    )
