"""The admin's inbound endpoint form: its raw JSON gets the API's checks (issue #18), the
errors show on the fields, nothing is saved until they pass, and it saves through the
service (webhooks.inbound.endpoints)."""

import json

import pytest
from django.test import Client

from tests.inbound_helpers import create_inbound_endpoint, send_to_slack_rule
from webhooks.inbound import endpoints as inbound_endpoints
from webhooks.models import InboundEndpoint


@pytest.fixture
def staff(django_user_model) -> Client:
    user = django_user_model.objects.create_superuser(email="staff@example.com", password="x")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def endpoint(api, channels) -> InboundEndpoint:
    made = create_inbound_endpoint(
        api,
        verification="hmac",
        secret="s3cret",
        signature_header="X-Signature",
        hmac={"algorithm": "sha512"},
        rules=send_to_slack_rule(),
    )
    return InboundEndpoint.objects.get(pk=made["id"])


def change_form(endpoint: InboundEndpoint, **changes) -> dict[str, str]:
    """The change page's form as the admin sends it, with `changes`."""
    values = {
        "name": endpoint.name,
        "verification": endpoint.verification,
        "signature_header": endpoint.signature_header,
        "hmac": endpoint.hmac,
        "token_prefix": endpoint.token_prefix,
        "rules": endpoint.rules,
        "rule_mode": endpoint.rule_mode,
        "event_type_from": endpoint.event_type_from,
        "allowed_ips": endpoint.allowed_ips,
        "enabled": "on" if endpoint.enabled else "",
        **changes,
    }
    form = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }
    # The page's hidden copies of the JSON fields with callable defaults, which Django
    # compares with to tell what changed.
    for name in ("hmac", "rules", "allowed_ips"):
        form[f"initial-{name}"] = json.dumps(getattr(endpoint, name))
    return form


def save(staff: Client, endpoint: InboundEndpoint, **changes):
    return staff.post(
        f"/admin/webhooks/inboundendpoint/{endpoint.pk}/change/", change_form(endpoint, **changes)
    )


def field_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, "the form is shown again"
    form = response.context["adminform"].form
    return {name: [str(e) for e in errors] for name, errors in form.errors.items()}


def stored(endpoint: InboundEndpoint) -> dict:
    row = InboundEndpoint.objects.get(pk=endpoint.pk)
    return {"allowed_ips": row.allowed_ips, "rules": row.rules, "hmac": row.hmac}


@pytest.mark.parametrize(
    ("changes", "field", "error_start"),
    [
        ({"allowed_ips": ["10.1.2.3/8"]}, "allowed_ips", "allowed_ips[0]: '10.1.2.3/8' has host"),
        ({"allowed_ips": '"203.0.113.0/24"'}, "allowed_ips", "A list of networks"),
        (
            {"rules": [{"event": "*", "message": "{{ x", "channels": ["slack"]}]},
            "rules",
            "rules[0].",
        ),
        (
            {"rules": [{**send_to_slack_rule()[0], "when": "1 +"}]},
            "rules",
            "rules[0].when: ",
        ),
        ({"hmac": {"algorithm": "md5"}}, "hmac", "hmac.algorithm: "),
        ({"event_type_from": {"header": ""}}, "event_type_from", "event_type_from"),
    ],
    ids=["host-bits", "not-a-list", "rule-template", "rule-when", "hmac", "event-type-from"],
)
def test_a_bad_field_is_an_error_on_it_and_nothing_is_saved(
    staff, endpoint, changes, field, error_start
):
    before = stored(endpoint)

    errors = field_errors(save(staff, endpoint, **changes))

    assert list(errors) == [field], errors
    assert errors[field][0].startswith(error_start), errors
    assert stored(endpoint) == before


def test_the_same_input_gets_the_apis_message(staff, endpoint, api):
    bad = {"hmac": {"algorithm": "md5"}}

    admin_error = field_errors(save(staff, endpoint, **bad))["hmac"][0]
    api_error = api.patch(
        f"/api/v1/inbound-endpoints/{endpoint.pk}", bad, content_type="application/json"
    ).json()["error"]["message"]

    assert admin_error == api_error


def test_a_good_change_is_saved_cleaned_through_the_service(staff, endpoint, monkeypatch):
    # A spy that calls through: the service writes only the changed fields (update_fields).
    updated = []
    service = inbound_endpoints.update
    monkeypatch.setattr(
        inbound_endpoints, "update", lambda e, **f: updated.append(sorted(f)) or service(e, **f)
    )

    response = save(
        staff,
        endpoint,
        allowed_ips=["203.0.113.7", "2001:db8::/32"],
        hmac={"algorithm": "sha1", "encoding": "base64"},
    )

    assert response.status_code == 302, field_errors(response)
    row = InboundEndpoint.objects.get(pk=endpoint.pk)
    assert row.allowed_ips == ["203.0.113.7/32", "2001:db8::/32"]  # stored as networks
    assert row.hmac["algorithm"] == "sha1"
    assert row.hmac["encoding"] == "base64"
    assert updated == [["allowed_ips", "hmac"]]


def add(staff: Client, account, name: str, rules: list, allowed_ips: list):
    """The add page's form, as the admin sends it."""
    return staff.post(
        "/admin/webhooks/inboundendpoint/add/",
        {
            "account": account.pk,
            "name": name,
            "verification": "none",
            "signature_header": "X-Webhook-Signature",
            "hmac": "{}",
            "rules": json.dumps(rules),
            "rule_mode": "all",
            "event_type_from": "null",
            "allowed_ips": json.dumps(allowed_ips),
            "enabled": "on",
        },
    )


def test_a_new_endpoint_is_made_by_the_service_with_a_token(staff, account, channels):
    response = add(staff, account, "From the admin", send_to_slack_rule(), ["192.0.2.1"])

    assert response.status_code == 302, field_errors(response)
    row = InboundEndpoint.objects.get(name="From the admin")
    assert row.token and row.token_hash  # the service minted its URL
    assert row.allowed_ips == ["192.0.2.1/32"]
    assert row.rules[0]["id"]  # rules get their stable ids, as through the API


def test_a_new_endpoint_with_a_bad_rule_is_not_made(staff, account, channels):
    pigeon = [{"event": "*", "message": "hi", "channels": ["pigeon"], "recipient": "o"}]

    response = add(staff, account, "Typo", pigeon, [])

    assert "rules" in field_errors(response)
    assert not InboundEndpoint.objects.filter(name="Typo").exists()
