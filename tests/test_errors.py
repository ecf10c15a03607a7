import pytest
from django.test import override_settings

from tests.conftest import ApiClient


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error


def test_missing_key_is_401_with_a_hint(anonymous_api, db):
    response = anonymous_api.get("/api/v1/account")
    error = assert_error_shape(response, 401, "not_authenticated")
    assert "Authorization: Bearer" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_malformed_authorization_header_is_401(db):
    response = ApiClient(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz").get("/api/v1/account")
    assert_error_shape(response, 401, "invalid_api_key")


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_url_is_json_404_even_with_debug_on(api, debug):
    with override_settings(DEBUG=debug):
        response = api.get("/api/v1/no-such-thing")
    error = assert_error_shape(response, 404, "not_found")
    assert "/api/v1/no-such-thing" in error["message"]


def test_unknown_object_is_404(api):
    assert_error_shape(api.get("/api/v1/api-keys/key_nope"), 404, "not_found")


def test_wrong_method_is_405_naming_the_allowed_ones(api):
    error = assert_error_shape(api.delete("/api/v1/account"), 405, "method_not_allowed")
    assert "GET" in error["details"]["allowed"]


def test_invalid_json_is_400_invalid_json(api):
    response = api.post("/api/v1/api-keys", "{not json", content_type="application/json")
    assert_error_shape(response, 400, "invalid_json")


def test_form_body_is_415(api):
    response = api.post("/api/v1/api-keys", {"name": "x"})  # multipart form
    error = assert_error_shape(response, 415, "unsupported_media_type")
    assert error["details"]["content_type"].startswith("multipart/form-data")


def test_body_over_the_limit_is_413(api, settings):
    settings.ONEPING_API_MAX_BODY_BYTES = 1024
    body = '{"name": "' + "x" * 2000 + '"}'
    response = api.post("/api/v1/api-keys", body, content_type="application/json")
    error = assert_error_shape(response, 413, "payload_too_large")
    assert error["details"]["limit"] == 1024


def test_validation_errors_name_the_field(api):
    error = assert_error_shape(api.post_json("/api/v1/api-keys", {}), 400, "validation_error")
    assert error["message"].startswith("name:")
    assert "name" in error["details"]["fields"]


@pytest.mark.urls("tests.urls_failing")
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("url", ["/api/v1/test-boom", "/api/v1/test-plain-boom"])
def test_a_crash_is_json_500_without_a_traceback(db, url, debug):
    with override_settings(DEBUG=debug):
        response = ApiClient().get(url)
    assert_error_shape(response, 500, "internal_error")
    assert "secret internals" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_pages_outside_the_api_keep_html_errors(client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/api/v1/account", "/send"])
def test_an_unreachable_database_is_503_in_the_error_shape(api, path, monkeypatch):
    from django.db import OperationalError

    from accounts import api_keys

    def database_down(raw_key):
        raise OperationalError("connection refused")

    monkeypatch.setattr(api_keys, "find_active_key", database_down)

    response = api.get(path) if path.startswith("/api/") else api.post_json(path, {})

    assert_error_shape(response, 503, "service_unavailable")
