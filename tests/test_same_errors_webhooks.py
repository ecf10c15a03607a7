"""The API and the dashboard refuse the same bad input to a webhook endpoint action with the
same error (issue #15): both call webhooks.endpoints / webhooks.replay, and the dashboard
shows the service's refusal in the API's words, next to the field when it is about one.
The admin's enable/disable go through the same service, with the same side effects."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from tests.conftest import set_caps
from webhooks import endpoints, events
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.signing import new_secret

API = "/api/v1/webhook-endpoints"
VALID = {"url": "https://receiver.example/hooks", "description": "ops"}
LONG_URL = "https://receiver.example/" + "a" * 2048


def make_endpoint(account, **fields) -> WebhookEndpoint:
    fields = {"url": "https://receiver.example/hooks", **fields}
    return WebhookEndpoint.objects.create(account=account, secret=new_secret(), **fields)


def api_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def form_errors(response) -> dict[str, list[tuple[str, str]]]:
    """The dashboard form's errors as {field: [(code, message)]}, "__all__" for the form's."""
    assert response.status_code in (200, 400), response.status_code
    errors = response.context["form"].errors.as_data()
    return {
        field: [(error.code, message) for error in found for message in error]
        for field, found in errors.items()
    }


def flashed(response) -> list[str]:
    assert response.status_code == 302, response.status_code
    return [message.message for message in get_messages(response.wsgi_request)]


# Invalid input for one field: (fields sent, the field, the API's top-level code, settings).
# Framework rules (required, length) answer validation_error in the API and the field's own
# code in the form; the service's rules answer their own code in both.
FIELD_CASES = {
    "not a url": ({"url": "not a url"}, "url", "url_not_allowed", {}),
    "not http": ({"url": "ftp://receiver.example/x"}, "url", "url_not_allowed", {}),
    "private url": (
        {"url": "http://127.0.0.1:9000/x"},
        "url",
        "url_not_allowed",
        {"ONEPING_ALLOW_PRIVATE_URLS": False},
    ),
    "plain http": (
        {"url": "http://receiver.example/x"},
        "url",
        "https_required",
        {"ONEPING_ALLOW_HTTP_URLS": False},
    ),
    "too long url": ({"url": LONG_URL}, "url", "validation_error", {}),
    "too long description": ({"description": "d" * 501}, "description", "validation_error", {}),
    "unknown event type": (
        {"event_types": ["message.lost"]},
        "event_types",
        "unknown_event_type",
        {},
    ),
}


def assert_same_field_error(api_response, dashboard_response, field: str, code: str) -> None:
    error = api_error(api_response, 400)
    assert error["code"] == code
    [(form_code, form_message)] = form_errors(dashboard_response)[field]
    assert error["details"]["fields"][field] == [form_message]
    assert error["message"] == f"{field}: {form_message}"
    assert form_code == code or code == "validation_error"


@pytest.mark.parametrize("case", FIELD_CASES)
def test_create_refuses_the_same_field_alike(api, owner_client, settings, case):
    fields, field, code, overrides = FIELD_CASES[case]
    for name, value in overrides.items():
        setattr(settings, name, value)
    data = {**VALID, **fields}

    api_response = api.post_json(API, data)
    dashboard_response = owner_client.post("/webhooks/new/", data)

    assert_same_field_error(api_response, dashboard_response, field, code)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("case", FIELD_CASES)
def test_update_refuses_the_same_field_alike(api, owner_client, account, settings, case):
    fields, field, code, overrides = FIELD_CASES[case]
    for name, value in overrides.items():
        setattr(settings, name, value)
    endpoint = make_endpoint(account)

    api_response = api.patch(f"{API}/{endpoint.pk}", fields, content_type="application/json")
    dashboard_response = owner_client.post(f"/webhooks/{endpoint.pk}/edit/", {**VALID, **fields})

    assert_same_field_error(api_response, dashboard_response, field, code)
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types) == ("https://receiver.example/hooks", [])


def test_a_missing_url_is_required_in_both(api, owner_client):
    # A form always sends its fields: an empty one is the API's missing one.
    api_response = api.post_json(API, {"description": "no url"})
    dashboard_response = owner_client.post("/webhooks/new/", {"url": "", "description": "x"})

    error = api_error(api_response, 400)
    assert error["code"] == "validation_error"
    assert form_errors(dashboard_response)["url"] == [("required", "This field is required.")]
    assert error["details"]["fields"]["url"] == ["This field is required."]


def test_one_endpoint_too_many_is_refused_alike(api, owner_client, account):
    set_caps(account, max_webhook_endpoints=1)
    make_endpoint(account)

    api_response = api.post_json(API, VALID)
    dashboard_response = owner_client.post("/webhooks/new/", VALID)

    error = api_error(api_response, 400)
    assert error["code"] == "limit_reached"
    assert dashboard_response.status_code == 400
    assert form_errors(dashboard_response)["__all__"] == [("limit_reached", error["message"])]
    assert WebhookEndpoint.objects.count() == 1


def test_a_test_event_to_a_disabled_endpoint_is_refused_alike(api, owner_client, account):
    endpoint = make_endpoint(account, enabled=False)

    error = api_error(api.post_json(f"{API}/{endpoint.pk}/test"), 409)
    shown = flashed(owner_client.post(f"/webhooks/{endpoint.pk}/test/"))

    assert error["code"] == "endpoint_disabled"
    assert shown == [error["message"]]
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("whose", ["unknown", "another account's"])
def test_replaying_an_event_not_in_the_account_is_refused_alike(
    api, owner_client, account, make_account, whose
):
    endpoint = make_endpoint(account)
    event_id = "evt_nope"
    if whose != "unknown":
        event_id = events.create_event(make_account("Other"), events.TEST_EVENT, {}).pk

    error = api_error(api.post_json(f"/api/v1/events/{event_id}/replay"), 404)
    shown = flashed(owner_client.post(f"/webhooks/{endpoint.pk}/replay/", {"event_id": event_id}))

    assert error["code"] == "not_found"
    assert shown == [error["message"]] == ["No such event in this account."]
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("since", "sent"),
    [
        ("", {}),  # an empty field is a missing one
        ("yesterday", {"since": "yesterday"}),
        # Django's forms read US dates; the API reads ISO 8601 only.
        ("05/01/2024 10:00", {"since": "05/01/2024 10:00"}),
    ],
)
def test_recover_refuses_the_same_since_alike(api, owner_client, account, since, sent):
    endpoint = make_endpoint(account)

    api_response = api.post_json(f"{API}/{endpoint.pk}/recover", sent)
    shown = flashed(owner_client.post(f"/webhooks/{endpoint.pk}/recover/", {"since": since}))

    error = api_error(api_response, 400)
    assert error["code"] == "validation_error"
    assert shown == error["details"]["fields"]["since"]


def test_another_accounts_endpoint_is_not_found_by_any_action(
    api, owner_client, account, make_account
):
    theirs = make_endpoint(make_account("Other"))
    secret = theirs.secret
    event = events.create_event(theirs.account, events.TEST_EVENT, {}, endpoints=[])
    since = {"since": timezone.now().isoformat()}
    api_calls = [
        api.post_json(f"{API}/{theirs.pk}/rotate-secret"),
        api.post_json(f"{API}/{theirs.pk}/test"),
        api.post_json(f"{API}/{theirs.pk}/recover", since),
        api.patch(f"{API}/{theirs.pk}", {"enabled": False}, content_type="application/json"),
        api.patch(f"{API}/{theirs.pk}", VALID, content_type="application/json"),
        api.delete(f"{API}/{theirs.pk}"),
    ]
    dashboard_calls = [
        owner_client.post(f"/webhooks/{theirs.pk}/rotate-secret/"),
        owner_client.post(f"/webhooks/{theirs.pk}/test/"),
        owner_client.post(f"/webhooks/{theirs.pk}/recover/", since),
        owner_client.post(f"/webhooks/{theirs.pk}/toggle/", {"enabled": "0"}),
        owner_client.post(f"/webhooks/{theirs.pk}/edit/", VALID),
        owner_client.post(f"/webhooks/{theirs.pk}/delete/"),
    ]
    # Replaying their event to our endpoint, or our event to theirs.
    our_event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[])
    replay = f"/api/v1/events/{our_event.pk}/replay"
    missing_endpoint = api_error(api.post_json(replay, {"endpoint_id": theirs.pk}), 404)
    dashboard_calls.append(
        owner_client.post(f"/webhooks/{theirs.pk}/replay/", {"event_id": our_event.pk})
    )

    for response in api_calls:
        assert api_error(response, 404)["code"] == "not_found"
    assert missing_endpoint == {
        "code": "not_found",
        "message": "No such webhook endpoint in this account.",
        "details": {},
    }
    assert [response.status_code for response in dashboard_calls] == [404] * 7
    theirs.refresh_from_db()
    assert (theirs.secret, theirs.enabled, theirs.url) == (secret, True, VALID["url"])
    assert not WebhookDelivery.objects.filter(event__in=[event, our_event]).exists()


# --- Enable and disable: the API, the dashboard and the admin ------------------------


def disabled_with_a_waiting_delivery(account) -> WebhookEndpoint:
    endpoint = make_endpoint(account)
    events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
    WebhookDelivery.objects.update(
        status="retrying", next_attempt_at=timezone.now() + timedelta(hours=5)
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False,
        disabled_reason="Every delivery failed since … (5 days); disabled automatically.",
        failing_since=timezone.now() - timedelta(days=6),
    )
    return endpoint


@pytest.fixture
def service_calls(monkeypatch) -> list[str]:
    """The names of webhooks.endpoints' enable/disable as they are called (and still run)."""
    calls: list[str] = []
    for name in ("enable", "disable"):
        real = getattr(endpoints, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(endpoints, name, spy)
    return calls


def enable_through(caller: str, endpoint: WebhookEndpoint, api, owner_client, admin_client):
    if caller == "api":
        response = api.patch(
            f"{API}/{endpoint.pk}", {"enabled": True}, content_type="application/json"
        )
        assert response.status_code == 200, response.content
    elif caller == "dashboard":
        owner_client.post(f"/webhooks/{endpoint.pk}/toggle/", {"enabled": "1"})
    else:
        admin_client.post(
            "/admin/webhooks/webhookendpoint/",
            {"action": "enable", "_selected_action": [endpoint.pk]},
        )


@pytest.mark.parametrize("caller", ["api", "dashboard", "admin"])
def test_enabling_forgets_the_failures_and_resumes_wherever_it_is_done(
    api, owner_client, admin_client, account, service_calls, caller
):
    endpoint = disabled_with_a_waiting_delivery(account)

    enable_through(caller, endpoint, api, owner_client, admin_client)

    assert service_calls == ["enable"]
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since) == (True, "", None)
    waiting = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (waiting.status, waiting.next_attempt_at) == ("pending", None)


@pytest.mark.parametrize("caller", ["api", "dashboard", "admin"])
def test_disabling_keeps_the_deliveries_waiting_wherever_it_is_done(
    api, owner_client, admin_client, account, owner, service_calls, caller
):
    endpoint = make_endpoint(account)
    events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])

    if caller == "api":
        api.patch(f"{API}/{endpoint.pk}", {"enabled": False}, content_type="application/json")
    elif caller == "dashboard":
        owner_client.post(f"/webhooks/{endpoint.pk}/toggle/", {"enabled": "0"})
    else:
        admin_client.post(
            "/admin/webhooks/webhookendpoint/",
            {"action": "disable", "_selected_action": [endpoint.pk]},
        )

    assert service_calls == ["disable"]
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "pending"
    # Who did it, when a person in the dashboard or the admin did.
    who = {"api": "", "dashboard": f"Disabled by {owner.email} on ", "admin": "Disabled by "}
    assert endpoint.disabled_reason.startswith(who[caller])
