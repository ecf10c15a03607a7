"""Malformed requests get the documented 4xx in the JSON error shape: never a 5xx, never
an HTML page. The inbound URL accepts any body its signature check accepts (an endpoint
with `"verification": "none"` here), so malformed bodies are stored there, not refused."""

import json

import pytest

from tests.hostile.objects import make_objects
from tests.test_errors import assert_error_shape
from webhooks.models import InboundEndpoint, InboundEvent

JSON = "application/json"
SEND = {"message": "hello", "channels": ["slack"], "recipient": "ops"}


def json_body(value) -> bytes:
    return json.dumps(value).encode()


@pytest.fixture
def targets(account, api):
    objects = make_objects(account, tag="a")
    InboundEndpoint.objects.filter(pk=objects.inbound_endpoint.pk).update(verification="none")
    return objects


def assert_json_answer(response) -> None:
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[:300]


# (method, path, body, content type, status, code)
BODIES = {
    "nested arrays": ("post", "/api/v1/contacts", b"[" * 100_000, JSON, 400, "invalid_json"),
    "nested objects": ("post", "/api/v1/send", b'{"a":' * 50_000, JSON, 400, "invalid_json"),
    "nested on the alias": ("post", "/send", b"[" * 100_000, JSON, 400, "invalid_json"),
    "invalid UTF-8": (
        "post",
        "/api/v1/contacts",
        b'{"identifier": "\xff\xfe"}',
        JSON,
        400,
        "invalid_json",
    ),
    "truncated JSON": ("post", "/api/v1/api-keys", b'{"name": "x', JSON, 400, "invalid_json"),
    "NaN": ("post", "/api/v1/send", b'{"message": NaN}', JSON, 400, "invalid_json"),
    "a float overflowing to infinity": (
        "post",
        "/api/v1/send",
        json_body({**SEND, "metadata": {"k": 1}}).replace(b"1}", b"1e999}"),
        JSON,
        400,
        "invalid_json",
    ),
    "an integer of 5000 digits": (
        "post",
        "/api/v1/send",
        b'{"a": ' + b"9" * 5000 + b"}",
        JSON,
        400,
        "invalid_json",
    ),
    "text/plain": (
        "post",
        "/api/v1/contacts",
        json_body({"identifier": "x"}),
        "text/plain",
        415,
        "unsupported_media_type",
    ),
    "multipart": (
        "post",
        "/api/v1/send",
        b"--x\r\nContent-Disposition: form-data; name=message\r\n\r\nhi\r\n--x--\r\n",
        "multipart/form-data; boundary=x",
        415,
        "unsupported_media_type",
    ),
    "form": (
        "post",
        "/api/v1/webhook-endpoints",
        b"url=https://x.example",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    "no content type": (
        "post",
        "/api/v1/contacts",
        json_body({"identifier": "x"}),
        "",
        415,
        "unsupported_media_type",
    ),
    "a list to /send": ("post", "/api/v1/send", b"[]", JSON, 400, "invalid_body"),
    "null to /send": ("post", "/api/v1/send", b"null", JSON, 400, "invalid_body"),
    "a string to /send": ("post", "/send", b'"hi"', JSON, 400, "invalid_body"),
    "a list to contacts": ("post", "/api/v1/contacts", b"[1, 2]", JSON, 400, "validation_error"),
    "a number to api-keys": ("post", "/api/v1/api-keys", b"42", JSON, 400, "validation_error"),
    "true to channels": ("post", "/api/v1/channels", b"true", JSON, 400, "validation_error"),
    "a list to recover": (
        "post",
        "/api/v1/webhook-endpoints/{webhook_endpoint}/recover",
        b"[]",
        JSON,
        400,
        "validation_error",
    ),
    "a string patch": (
        "patch",
        "/api/v1/contacts/{contact}",
        b'"x"',
        JSON,
        400,
        "validation_error",
    ),
    "huge metadata": (
        "post",
        "/api/v1/send",
        json_body({**SEND, "metadata": {"k": "x" * 9000}}),
        JSON,
        400,
        "metadata_too_large",
    ),
    "NUL in a name": (
        "post",
        "/api/v1/api-keys",
        json_body({"name": "a\x00b"}),
        JSON,
        400,
        "validation_error",
    ),
    "NUL in a contact": (
        "post",
        "/api/v1/contacts",
        json_body({"identifier": "a\x00"}),
        JSON,
        400,
        "validation_error",
    ),
    "NUL in a message": (
        "post",
        "/api/v1/send",
        json_body({**SEND, "message": "a\x00"}),
        JSON,
        400,
        "validation_error",
    ),
    "NUL in metadata": (
        "post",
        "/api/v1/send",
        json_body({**SEND, "metadata": {"k": "a\x00"}}),
        JSON,
        400,
        "validation_error",
    ),
    "NUL in a metadata key": (
        "post",
        "/api/v1/send",
        json_body({**SEND, "metadata": {"k\x00": 1}}),
        JSON,
        400,
        "validation_error",
    ),
    "a lone surrogate in metadata": (
        "post",
        "/api/v1/send",
        json_body({**SEND, "metadata": {"k": "\ud800"}}),
        JSON,
        400,
        "validation_error",
    ),
    "a lone surrogate in a name": (
        "post",
        "/api/v1/api-keys",
        b'{"name": "\\udc00"}',
        JSON,
        400,
        "validation_error",
    ),
    "NUL in a rule template": (
        "post",
        "/api/v1/inbound-endpoints",
        json_body(
            {
                "name": "n",
                "verification": "none",
                "rules": [
                    {"event": "*", "message": "a\x00", "recipient": "x", "channels": ["slack"]}
                ],
            }
        ),
        JSON,
        400,
        "invalid_rule",
    ),
    "NUL in a webhook URL": (
        "post",
        "/api/v1/webhook-endpoints",
        json_body({"url": "https://x.example/\x00"}),
        JSON,
        400,
        "validation_error",
    ),
    "a date before year 1 in UTC": (
        "post",
        "/api/v1/webhook-endpoints/{webhook_endpoint}/recover",
        json_body({"since": "0001-01-01T00:00:00+14:00"}),
        JSON,
        400,
        "validation_error",
    ),
}


@pytest.mark.parametrize("case", BODIES.values(), ids=BODIES.keys())
def test_a_malformed_body_is_a_documented_4xx(api, targets, case):
    method, path, body, content_type, status, code = case
    path = path.format(contact=targets.contact.pk, webhook_endpoint=targets.webhook_endpoint.pk)

    response = api.generic(method.upper(), path, body, CONTENT_TYPE=content_type)

    assert_error_shape(response, status, code)


@pytest.mark.parametrize("path", ["/api/v1/send", "/api/v1/contacts", "/send", "/api/v1/api-keys"])
def test_a_body_over_the_limit_is_413_before_it_is_read(api, path, settings):
    limit = settings.ONEPING_API_MAX_BODY_BYTES
    body = b'{"name": "' + b"x" * limit + b'"}'

    error = assert_error_shape(api.post(path, body, content_type=JSON), 413, "payload_too_large")

    assert error["details"]["limit"] == limit


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({"HTTP_AUTHORIZATION": "Bearer " + "k" * 100_000}, 401, "invalid_api_key"),
        ({"HTTP_AUTHORIZATION": "Bearer op_live_\x00\xff"}, 401, "invalid_api_key"),
        ({"HTTP_AUTHORIZATION": "\xff" * 10_000}, 401, "invalid_api_key"),
        ({"HTTP_IDEMPOTENCY_KEY": "k" * 100_000}, 400, "invalid_idempotency_key"),
        ({"HTTP_IDEMPOTENCY_KEY": ""}, 400, "invalid_idempotency_key"),
        ({"CONTENT_LENGTH": "not a number"}, 400, "bad_request"),
        ({"CONTENT_LENGTH": "9" * 40}, 413, "payload_too_large"),
    ],
    ids=[
        "a 100 kB key",
        "a key with NUL and latin-1",
        "a latin-1 authorization",
        "a 100 kB idempotency key",
        "an empty idempotency key",
        "a Content-Length that is no number",
        "a Content-Length of 40 digits",
    ],
)
def test_odd_headers_are_a_documented_4xx(api_key, headers, status, code):
    from tests.conftest import ApiClient

    client = ApiClient(api_key) if "HTTP_AUTHORIZATION" not in headers else ApiClient()
    response = client.post("/api/v1/send", json_body(SEND), content_type=JSON, **headers)

    assert_error_shape(response, status, code)


def test_a_long_unrelated_header_changes_nothing(api, targets):
    response = api.get("/api/v1/contacts", HTTP_X_PADDING="p" * 100_000, HTTP_X_LATIN="\xe9\xff")

    assert response.status_code == 200
    assert targets.contact.pk in response.content.decode()


LISTS = [
    "/api/v1/api-keys",
    "/api/v1/channels",
    "/api/v1/contacts",
    "/api/v1/messages",
    "/api/v1/deliveries",
    "/api/v1/webhook-endpoints",
    "/api/v1/events",
    "/api/v1/inbound-endpoints",
    "/api/v1/inbound-events",
    "/api/v1/inbound-presets",
    "/api/v1/webhook-endpoints/{webhook_endpoint}/attempts",
]


@pytest.mark.parametrize("path", LISTS)
def test_unknown_query_parameters_on_a_list_are_ignored(api, targets, path):
    path = path.format(webhook_endpoint=targets.webhook_endpoint.pk)
    plain = api.get(path)

    odd = api.get(path, {"foo": "bar", "x" * 1000: "\x00", "utf8": "\u00e9\ud7ff", "page": "-1"})

    assert_json_answer(odd)
    assert odd.status_code == plain.status_code == 200
    assert odd.json() == plain.json()


BAD_QUERIES = {
    "a status that is not one": (
        "/api/v1/messages",
        {"status": "exploded"},
        400,
        "validation_error",
    ),
    "a channel with NUL": ("/api/v1/messages", {"channel": "\x00"}, 400, "validation_error"),
    "a recipient with NUL": ("/api/v1/messages", {"recipient": "a\x00"}, 400, "validation_error"),
    "a date that is no date": (
        "/api/v1/messages",
        {"created_after": "yesterday"},
        400,
        "validation_error",
    ),
    "a date before year 1 in UTC": (
        "/api/v1/messages",
        {"created_after": "0001-01-01T00:00:00+14:00"},
        400,
        "validation_error",
    ),
    "a message id with NUL": ("/api/v1/deliveries", {"message": "\x00"}, 400, "validation_error"),
    "an event type that is not one": (
        "/api/v1/events",
        {"type": "message.exploded"},
        400,
        "validation_error",
    ),
    "an endpoint id with NUL": (
        "/api/v1/inbound-events",
        {"endpoint": "\x00"},
        400,
        "validation_error",
    ),
    "a cursor that is not ours": ("/api/v1/contacts", {"cursor": "not-a-cursor"}, 404, "not_found"),
    "a cursor with NUL": ("/api/v1/messages", {"cursor": "\x00\xff"}, 404, "not_found"),
}


@pytest.mark.parametrize("case", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_a_bad_value_of_a_known_query_parameter_is_a_documented_4xx(api, targets, case):
    path, query, status, code = case

    assert_error_shape(api.get(path, query), status, code)


@pytest.mark.parametrize("limit", ["abc", "-1", "0", "99999999999999999999", "\x00"])
def test_an_odd_limit_falls_back_to_a_page(api, targets, limit):
    response = api.get("/api/v1/messages", {"limit": limit})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/contacts/%00",
        "/api/v1/messages/msg_%00",
        "/api/v1/webhook-endpoints/we_%00/secret",
        "/api/v1/inbound-events/%00/reprocess",
        "/api/v1/contacts/" + "x" * 10_000,
        "/api/v1/contacts/%ff%fe",
    ],
)
def test_an_id_that_is_no_id_is_404(api, targets, path):
    response = api.post(path) if path.endswith("reprocess") else api.get(path)

    assert_error_shape(response, 404, "not_found")


INBOUND_BODIES = {
    "nested arrays": (b"[" * 100_000, JSON),
    "invalid UTF-8": (b"\xff\xfe\x00", JSON),
    "NUL and a lone surrogate escaped": (b'{"a": "\\u0000", "b\\ud800": 1}', JSON),
    "text": (b"hello", "text/plain"),
    "multipart": (
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n",
        "multipart/form-data; boundary=x",
    ),
    "a form with a broken payload": (
        b"payload=%7B%7B%7B&%ff=%00",
        "application/x-www-form-urlencoded",
    ),
    "no content type": (b"{}", ""),
    "empty": (b"", JSON),
}


@pytest.mark.parametrize("case", INBOUND_BODIES.values(), ids=INBOUND_BODIES.keys())
def test_the_inbound_url_stores_any_body_its_check_accepts(client, targets, case):
    body, content_type = case
    url = f"/hooks/in/{targets.inbound_endpoint.token}"

    response = client.generic(
        "POST", url, body, CONTENT_TYPE=content_type, HTTP_X_LONG="l" * 50_000
    )

    assert_json_answer(response)
    assert response.status_code == 200 and response.json()["received"] is True
    stored = InboundEvent.objects.get(pk=response.json()["id"])
    assert bytes(stored.body) == body


def test_the_inbound_url_refuses_a_body_over_1_mib(client, targets):
    from webhooks.inbound.receiving import MAX_BODY_BYTES

    url = f"/hooks/in/{targets.inbound_endpoint.token}"
    response = client.post(url, b"x" * (MAX_BODY_BYTES + 1), content_type=JSON)

    assert_error_shape(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        ("get", "/hooks/in/{token}", 405, "method_not_allowed"),
        ("put", "/hooks/in/{token}", 405, "method_not_allowed"),
        ("post", "/hooks/in/no-such-token", 404, "not_found"),
        ("post", "/hooks/in/%00", 404, "not_found"),
        ("post", "/hooks/in/" + "t" * 10_000, 404, "not_found"),
    ],
)
def test_the_inbound_url_answers_other_mistakes_in_json(
    client, targets, method, path, status, code
):
    path = path.format(token=targets.inbound_endpoint.token)

    response = client.generic(method.upper(), path, b"{}", CONTENT_TYPE=JSON)

    assert_error_shape(response, status, code)


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/contacts/%00/"),
        ("get", "/messages/msg_%00/"),
        ("get", "/webhooks/%00/"),
        ("get", "/inbound/inb_x/events/%00/"),
        ("get", "/channels/test/%00/"),
        ("post", "/keys/%00/revoke/"),
    ],
)
def test_a_dashboard_id_with_nul_is_404(client, owner, method, path):
    client.force_login(owner)

    response = getattr(client, method)(path)

    assert response.status_code == 404
