"""The API and the dashboard refuse the same bad input to inbound endpoints alike (issue #15).

Both go through InboundEndpointSerializer and webhooks.inbound.endpoints, so each case
below is sent once as API JSON and once as the dashboard's form, and must give the same
error code and message: the API's in its JSON error, the dashboard's as a form error next
to the input it is about (rule errors of a preset: next to the preset's channels or
recipient, where the customer can fix them).
"""

from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.exceptions import ErrorDetail, ValidationError

from channels_app.models import ChannelConfig
from oneping.api.errors import describe_validation_error
from tests.conftest import set_caps
from webhooks.models import InboundEndpoint, InboundEvent

TOO_LONG_NAME = "n" * 201
RULE = {"event": "*", "message": "{{ message }}", "channels": ["slack"], "recipient": "ops"}


@dataclass(frozen=True)
class Case:
    """One bad input: as API JSON, as the form's fields, and the error both must give."""

    api: dict[str, Any]
    form: dict[str, Any]
    code: str  # the API's error code
    message: str  # the API's message
    field: str | None  # the form input the dashboard shows the error at (None: the form's)
    shown: str  # the dashboard's text there
    caps: dict[str, int] = field(default_factory=dict)  # the plan's (tests.conftest.set_caps)


CASES = {
    "a rule without its message": Case(
        api={"name": "x", "verification": "none", "rules": [{"event": "*"}]},
        form={"name": "x", "verification": "none", "rules": '[{"event": "*"}]'},
        code="invalid_rule",
        message="rules[0].message: This field is required.",
        field="rules",
        shown="rules[0].message: This field is required.",
    ),
    "rules that are not a list": Case(
        api={"name": "x", "verification": "none", "rules": "every event"},
        form={"name": "x", "verification": "none", "rules": '"every event"'},
        code="invalid_rule",
        message="rules: Must be a list of rules.",
        field="rules",
        shown="Must be a list of rules.",
    ),
    "a template that does not parse": Case(
        api={"name": "x", "verification": "none", "rules": [{**RULE, "message": "{{ oops"}]},
        form={
            "name": "x",
            "verification": "none",
            "rules": '[{"event": "*", "message": "{{ oops", "channels": ["slack"], '
            '"recipient": "ops"}]',
        },
        code="invalid_rule",
        message="rules[0].message: ",  # then the template engine's words, the same in both
        field="rules",
        shown="rules[0].message: ",
    ),
    "an unknown channel in a rule": Case(
        api={"name": "x", "verification": "none", "rules": [{**RULE, "channels": ["pigeon"]}]},
        form={
            "name": "x",
            "verification": "none",
            "rules": '[{"event": "*", "message": "hi", "channels": ["pigeon"], "recipient": "o"}]',
        },
        code="invalid_rule",
        message="rules[0].channels: Unknown channel 'pigeon'.",
        field="rules",
        shown="rules[0].channels: Unknown channel 'pigeon'.",
    ),
    # Was "Select a valid choice. pigeon is not one of the available choices." in the form.
    "an unknown channel for a preset": Case(
        api={"name": "x", "preset": "generic", "secret": "s", "preset_channels": ["pigeon"]},
        form={"name": "x", "preset": "generic", "secret": "s", "preset_channels": ["pigeon"]},
        code="invalid_rule",
        message="rules[0].channels: Unknown channel 'pigeon'.",
        field="preset_channels",
        shown="Unknown channel 'pigeon'.",
    ),
    "a channel the account has not configured": Case(
        api={"name": "x", "preset": "generic", "secret": "s", "preset_channels": ["telegram"]},
        form={"name": "x", "preset": "generic", "secret": "s", "preset_channels": ["telegram"]},
        code="invalid_rule",
        message="rules[0].channels: The telegram channel is not configured for this account.",
        field="preset_channels",
        shown="The telegram channel is not configured for this account.",
    ),
    "a scheme that needs a secret, without one": Case(
        api={"name": "x", "verification": "github", "rules": []},
        form={"name": "x", "verification": "github", "secret": ""},
        code="validation_error",
        message="secret: The github verification needs the sender's secret.",
        field="secret",
        shown="The github verification needs the sender's secret.",
    ),
    # Was "Select a valid choice. …" in the form.
    "an unknown scheme": Case(
        api={"name": "x", "verification": "carrier-pigeon", "rules": []},
        form={"name": "x", "verification": "carrier-pigeon"},
        code="validation_error",
        message='verification: "carrier-pigeon" is not a valid choice.',
        field="verification",
        shown='"carrier-pigeon" is not a valid choice.',
    ),
    "an unknown preset": Case(
        api={"name": "x", "preset": "carrier-pigeon"},
        form={"name": "x", "preset": "carrier-pigeon"},
        code="validation_error",
        message='preset: "carrier-pigeon" is not a valid choice.',
        field="preset",
        shown='"carrier-pigeon" is not a valid choice.',
    ),
    # Was Django's "Ensure this value has at most 100 characters (it has 101)." in the form.
    "a signature header name too long": Case(
        api={
            "name": "x",
            "verification": "hmac_sha256",
            "secret": "s",
            "signature_header": "X" * 101,
        },
        form={
            "name": "x",
            "verification": "hmac_sha256",
            "secret": "s",
            "signature_header": "X" * 101,
        },
        code="validation_error",
        message="signature_header: Ensure this field has no more than 100 characters.",
        field="signature_header",
        shown="Ensure this field has no more than 100 characters.",
    ),
    "a secret too long": Case(
        api={"name": "x", "verification": "github", "secret": "s" * 501, "rules": []},
        form={"name": "x", "verification": "github", "secret": "s" * 501},
        code="validation_error",
        message="secret: Ensure this field has no more than 500 characters.",
        field="secret",
        shown="Ensure this field has no more than 500 characters.",
    ),
    "a name too long": Case(
        api={"name": TOO_LONG_NAME, "verification": "none", "rules": []},
        form={"name": TOO_LONG_NAME, "verification": "none"},
        code="validation_error",
        message="name: Ensure this field has no more than 200 characters.",
        field="name",
        shown="Ensure this field has no more than 200 characters.",
    ),
    # A blank input is no input: the form cannot send "no name" any other way.
    "no name": Case(
        api={"verification": "none", "rules": []},
        form={"name": "", "verification": "none"},
        code="validation_error",
        message="name: This field is required.",
        field="name",
        shown="This field is required.",
    ),
    # Was "This field is required." in the form (it stripped the spaces first).
    "a name of spaces": Case(
        api={"name": "   ", "verification": "none", "rules": []},
        form={"name": "   ", "verification": "none"},
        code="validation_error",
        message="name: This field may not be blank.",
        field="name",
        shown="This field may not be blank.",
    ),
    "a NUL in the name": Case(
        api={"name": "a\x00b", "verification": "none", "rules": []},
        form={"name": "a\x00b", "verification": "none"},
        code="validation_error",
        message="name: Null characters are not allowed.",
        field="name",
        shown="Null characters are not allowed.",
    ),
    "too many endpoints": Case(
        api={"name": "x", "verification": "none", "rules": []},
        form={"name": "x", "verification": "none"},
        code="limit_reached",
        message="This account already has 1 inbound endpoints, its limit; delete one to add "
        "another.",
        field=None,
        shown="This account already has 1 inbound endpoints, its limit; delete one to add another.",
        caps={"max_inbound_endpoints": 1},
    ),
}


@pytest.fixture
def slack_only(account):
    """Slack is configured, telegram is not."""
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": "https://hooks.slack.test/x"}
    )


def dashboard_errors(response) -> list[tuple[str | None, str, str]]:
    """(input, code, text) of each error the form shows; the code is the one the API would
    answer for that error (its framework codes all read validation_error there)."""
    form = response.context["form"]
    shown = []
    for name, errors in form.errors.as_data().items():
        for error in errors:
            detail = ErrorDetail(error.messages[0], code=error.code)
            code, _, _ = describe_validation_error(ValidationError([detail]))
            shown.append((None if name == "__all__" else name, code, error.messages[0]))
    return shown


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_creating_refuses_the_same_input_with_the_same_error(
    case, api, owner_client, account, slack_only
):
    set_caps(account, **case.caps)
    if case.code == "limit_reached":
        InboundEndpoint.objects.create(account=account, name="first", token="t", token_hash="h")
    before = InboundEndpoint.objects.count()

    refused = api.post_json("/api/v1/inbound-endpoints", case.api)
    page = owner_client.post("/inbound/new/", case.form)

    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert error["code"] == case.code
    assert error["message"].startswith(case.message), error["message"]
    assert page.status_code in (200, 400)  # the form again, with the error
    [(where, code, text)] = dashboard_errors(page)
    assert (where, code) == (case.field, case.code)
    assert text.startswith(case.shown), text
    # The same words after the path the API puts in front (a rule error's path stays in
    # front in the rules input, where the customer can find the rule).
    assert error["message"].endswith(text) or error["message"] == text
    assert InboundEndpoint.objects.count() == before


@pytest.fixture
def strangers(make_account):
    """Another account's endpoint and one of its dead letters."""
    other = make_account("Stranger")
    endpoint = InboundEndpoint.objects.create(
        account=other, name="theirs", verification="none", token="their-token", token_hash="x"
    )
    event = InboundEvent.objects.create(
        account=other, endpoint=endpoint, dedup_key="k", body=b"{}", status="failed"
    )
    return endpoint, event


def test_another_accounts_endpoint_is_not_found_by_either(api, owner_client, strangers):
    endpoint, _ = strangers
    path = f"/api/v1/inbound-endpoints/{endpoint.pk}"

    answers = {
        "enable or disable": (
            api.patch(path, {"enabled": False}, content_type="application/json"),
            owner_client.post(f"/inbound/{endpoint.pk}/toggle/", {"enabled": "0"}),
        ),
        "update": (
            api.patch(path, {"rules": []}, content_type="application/json"),
            owner_client.post(f"/inbound/{endpoint.pk}/edit/", {"name": "x", "rules": "[]"}),
        ),
        "delete": (api.delete(path), owner_client.post(f"/inbound/{endpoint.pk}/delete/")),
        "show": (api.get(path), owner_client.get(f"/inbound/{endpoint.pk}/")),
    }

    for action, (from_api, from_dashboard) in answers.items():
        assert from_api.status_code == 404, action
        assert from_api.json()["error"]["code"] == "not_found", action
        assert from_dashboard.status_code == 404, action
    endpoint.refresh_from_db()
    assert endpoint.enabled


def test_another_accounts_dead_letter_is_skipped_by_either(api, owner_client, strangers):
    _, event = strangers

    from_api = api.post_json("/api/v1/inbound-events/reprocess", {"ids": [event.pk]})
    from_dashboard = owner_client.post(
        "/failed/reprocess/", {"kind": "inbound", "one": event.pk}, follow=True
    )

    assert from_api.json() == {"queued": 0}
    assert "Nothing was queued" in from_dashboard.content.decode()
    assert api.post_json(f"/api/v1/inbound-events/{event.pk}/reprocess").status_code == 404
    event.refresh_from_db()
    assert event.status == "failed"


def test_a_long_preset_recipient_is_accepted_by_either(api, owner_client, account, slack_only):
    # The form used to refuse over 255 characters; the API never did (a recipient is a
    # template, its rendering is checked when a message is sent).
    recipient = "team-" + "x" * 300
    fields = {"name": "x", "preset": "generic", "secret": "s", "preset_channels": ["slack"]}

    from_api = api.post_json("/api/v1/inbound-endpoints", {**fields, "preset_recipient": recipient})
    from_dashboard = owner_client.post("/inbound/new/", {**fields, "preset_recipient": recipient})

    assert from_api.status_code == 201, from_api.content
    assert from_dashboard.status_code == 302, from_dashboard.content.decode()
    assert [endpoint.rules[0]["recipient"] for endpoint in InboundEndpoint.objects.all()] == [
        recipient,
        recipient,
    ]


def test_an_empty_name_does_not_hide_the_other_refusals(api, owner_client):
    # The form used to stop at its own "required" and show nothing else; the API lists
    # every field it refuses, and so does the dashboard now.
    fields = {"verification": "hmac_sha256", "secret": "s", "signature_header": "X" * 101}

    refused = api.post_json("/api/v1/inbound-endpoints", fields)
    page = owner_client.post("/inbound/new/", {"name": "", **fields})

    assert refused.status_code == 400, refused.content
    shown = {where: [text] for where, _, text in dashboard_errors(page)}
    assert shown == refused.json()["error"]["details"]["fields"]
    assert shown == {
        "name": ["This field is required."],
        "signature_header": ["Ensure this field has no more than 100 characters."],
    }
    assert not InboundEndpoint.objects.exists()
