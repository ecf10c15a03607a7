"""`event_type_from`: the event type from a header, a path into the payload or a template,
falling back to the scheme's; validated when the endpoint is saved."""

import json

import pytest
from django.test import Client

from tests.conftest import wait_until
from tests.inbound_helpers import create_inbound_endpoint, inbound_path
from webhooks.inbound import processing
from webhooks.models import InboundEvent


def rule(event: str, message: str) -> dict:
    return {"event": event, "message": message, "channels": ["slack"], "recipient": "dev"}


def post(endpoint: dict, body: dict, **headers) -> dict:
    response = Client().post(
        inbound_path(endpoint), json.dumps(body), content_type="application/json", **headers
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_a_gitlab_header_picks_the_rule_through_the_worker(api, channels, slack, celery_worker):
    # Given GitLab's event name in X-Gitlab-Event (its body's object_kind says "push" too,
    # but the header is the documented one:
    # https://docs.gitlab.com/user/project/integrations/webhook_events/)
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        event_type_from={"header": "X-Gitlab-Event"},
        rules=[
            rule("Merge Request Hook", "MR: {{ object_attributes.title }}"),
            rule("Push Hook", "{{ user_name }} pushed to {{ project.path_with_namespace }}"),
        ],
    )

    post(
        endpoint,
        {"object_kind": "push", "user_name": "Jane", "project": {"path_with_namespace": "g/p"}},
        HTTP_X_GITLAB_EVENT="Push Hook",
    )

    wait_until(lambda: slack.requests, timeout=30)
    assert slack.requests[0].json() == {"text": "Jane pushed to g/p"}
    assert InboundEvent.objects.get().event_type == "Push Hook"


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("data.type", {"data": {"type": "invoice.paid"}, "type": "outer"}, "invoice.paid"),
        ("alerts.1.status", {"alerts": [{"status": "a"}, {"status": "resolved"}]}, "resolved"),
        ("data.code", {"data": {"code": 404}}, "404"),
        # Missing, or not a name (an object, null): the scheme's type, the body's "type".
        ("data.kind", {"data": {"type": "x"}, "type": "fallback"}, "fallback"),
        ("data", {"data": {"type": "x"}, "type": "fallback"}, "fallback"),
        ("alerts.5.status", {"alerts": [], "type": "fallback"}, "fallback"),
    ],
)
def test_a_path_into_the_payload_is_the_event_type(api, channels, path, body, expected):
    endpoint = create_inbound_endpoint(
        api, verification="none", event_type_from={"path": path}, rules=[rule("*", "hi")]
    )

    post(endpoint, body)

    assert api.get("/api/v1/inbound-events").json()["results"][0]["event_type"] == expected


def test_a_missing_header_falls_back_to_the_schemes_type(api, channels):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        event_type_from={"header": "X-Event-Key"},
        rules=[rule("*", "hi")],
    )

    post(endpoint, {"event": "from.the.body"})

    assert InboundEvent.objects.get().event_type == "from.the.body"


def test_a_sentry_template_is_rendered_by_the_worker(api, channels, slack, celery_worker):
    # Sentry names the resource in a header and the action in the body:
    # https://docs.sentry.io/organization/integrations/integration-platform/webhooks/
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        event_type_from={"template": "{{ headers['sentry-hook-resource'] }}.{{ action }}"},
        rules=[
            rule("issue.resolved", "resolved"),
            rule("issue.created", "New issue: {{ data.issue.title }}"),
        ],
    )

    post(
        endpoint,
        {"action": "created", "data": {"issue": {"title": "ZeroDivisionError"}}},
        HTTP_SENTRY_HOOK_RESOURCE="issue",
    )

    wait_until(lambda: slack.requests, timeout=30)
    assert slack.requests[0].json() == {"text": "New issue: ZeroDivisionError"}
    event = api.get("/api/v1/inbound-events").json()["results"][0]
    assert (event["status"], event["event_type"]) == ("processed", "issue.created")


def test_a_template_error_fails_the_event_and_reprocessing_after_the_fix_works(
    api, channels, slack
):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        event_type_from={"template": "{{ resource }}.{{ action }}"},
        rules=[rule("issue.created", "created")],
    )
    post(endpoint, {"action": "created"}, HTTP_SENTRY_HOOK_RESOURCE="issue")
    event = InboundEvent.objects.get()

    processing.process(event.pk)
    event.refresh_from_db()
    assert (event.status, event.error) == ("failed", "template variable 'resource' is undefined")

    fixed = {"template": "{{ headers['sentry-hook-resource'] }}.{{ action }}"}
    patched = api.patch(
        f"/api/v1/inbound-endpoints/{endpoint['id']}",
        {"event_type_from": fixed},
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.content
    api.post_json(f"/api/v1/inbound-events/{event.pk}/reprocess", {})
    processing.process(event.pk)
    event.refresh_from_db()
    assert (event.status, event.event_type) == ("processed", "issue.created")
    assert event.message.body == "created"


def test_a_template_over_the_budget_fails_the_event_with_its_code(api, channels):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        event_type_from={"template": "{{ 'x' * 100000 }}"},
        rules=[rule("*", "hi")],
    )
    post(endpoint, {"a": 1})

    processing.process(InboundEvent.objects.get().pk)

    event = InboundEvent.objects.get()
    assert event.status == "failed"
    assert event.error.startswith("template_too_large:")


def test_the_template_does_not_see_credential_headers(api, channels):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        event_type_from={"template": "{{ headers['x-gitlab-token'] }}"},
        rules=[rule("*", "hi")],
    )
    post(endpoint, {"a": 1}, HTTP_X_GITLAB_TOKEN="glpat-secret")

    processing.process(InboundEvent.objects.get().pk)

    event = InboundEvent.objects.get()
    assert event.status == "failed"
    assert "glpat-secret" not in event.error + event.event_type


def test_event_type_from_is_shown_and_can_be_cleared(api, channels):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        event_type_from={"path": " data.type "},
        rules=[rule("*", "hi")],
    )
    assert endpoint["event_type_from"] == {"path": "data.type"}

    changed = api.patch(
        f"/api/v1/inbound-endpoints/{endpoint['id']}",
        {"event_type_from": None},
        content_type="application/json",
    )

    assert changed.status_code == 200
    assert changed.json()["event_type_from"] is None


@pytest.mark.parametrize(
    ("value", "message_start"),
    [
        ("X-Gitlab-Event", "event_type_from: Give one of"),
        ({"header": "X-Event", "path": "a"}, "event_type_from: Give one of"),
        ({"body": "type"}, "event_type_from: Give one of"),
        ({"header": ""}, "event_type_from.header: Must be a non-empty string."),
        ({"header": 3}, "event_type_from.header: Must be a non-empty string."),
        ({"header": "X Event"}, "event_type_from.header: Not a header name."),
        ({"header": "X-Gitlab-Token"}, "event_type_from.header: This header carries"),
        ({"header": "X-Auth-Token"}, "event_type_from.header: This header carries"),
        ({"path": "data..type"}, "event_type_from.path: A dotted path"),
        ({"template": "{{ action"}, "event_type_from.template: template syntax error"),
        ({"template": "{{ x }}" * 200}, "event_type_from.template: At most 1000"),
    ],
)
def test_event_type_from_is_validated(api, channels, value, message_start):
    response = api.post_json(
        "/api/v1/inbound-endpoints",
        {
            "name": "x",
            "verification": "none",
            "event_type_from": value,
            "rules": [rule("*", "hi")],
        },
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(message_start), error


@pytest.mark.parametrize(
    ("event_type_from", "body"),
    [
        ({"path": "data.type"}, '{"data": {"type": "a\\u0000b\\ud800c"}}'),
        (None, '{"type": "a\\u0000b\\ud800c"}'),
    ],
)
def test_characters_no_column_takes_are_dropped_from_the_event_type(
    api, channels, event_type_from, body
):
    endpoint = create_inbound_endpoint(
        api, verification="none", event_type_from=event_type_from, rules=[rule("*", "hi")]
    )

    response = Client().post(inbound_path(endpoint), body, content_type="application/json")

    assert response.status_code == 200, response.content
    assert InboundEvent.objects.get().event_type == "abc"
