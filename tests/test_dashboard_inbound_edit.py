"""The inbound endpoint's Edit page (issue #18): what the API's PATCH changes but the
verification and the secret, through the same serializer and service, so the page refuses
what the API refuses, next to the input, and saves nothing then."""

import html
import json

import pytest

from channels_app.models import ChannelConfig
from webhooks.models import InboundEndpoint

RULES = [
    {
        "id": "customer-email",
        "event": "orders/create",
        "channels": ["slack"],
        "recipient": "{{ email }}",
        "message": "Thanks {{ name }}",
    },
    {"event": "*", "channels": ["slack"], "recipient": "team", "message": "{{ event_type }}"},
]


@pytest.fixture
def endpoint(api, account) -> InboundEndpoint:
    """A token endpoint made through the API, as a customer would (the second rule's id
    is the one the API gave it)."""
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": "https://hooks.slack.test/x"}
    )
    created = api.post_json(
        "/api/v1/inbound-endpoints",
        {
            "name": "Shop",
            "verification": "token",
            "secret": "tok-secret-1",
            "signature_header": "Authorization",
            "token_prefix": "Bearer",
            "rules": RULES,
            "allowed_ips": ["192.0.2.0/24"],
        },
    )
    assert created.status_code == 201, created.content
    return InboundEndpoint.objects.get(pk=created.json()["id"])


def edit_url(endpoint: InboundEndpoint) -> str:
    return f"/inbound/{endpoint.pk}/edit/"


def shown_form(client, endpoint: InboundEndpoint) -> dict[str, str]:
    """The Edit form's inputs as the page fills them in."""
    page = client.get(edit_url(endpoint))
    assert page.status_code == 200
    return {field.name: field.value() for field in page.context["form"]}


def row(endpoint: InboundEndpoint) -> dict:
    """Every column of the endpoint's row, to tell that nothing was saved."""
    return InboundEndpoint.objects.filter(pk=endpoint.pk).values().get()


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_form_shows_the_endpoint_as_it_is_but_not_its_secret(owner_client, endpoint):
    page = owner_client.get(edit_url(endpoint))
    shown = shown_form(owner_client, endpoint)

    assert json.loads(shown["rules"]) == endpoint.rules  # ids included
    assert endpoint.rules[1]["id"].startswith("rul_")
    assert shown["name"] == "Shop"
    assert shown["rule_mode"] == "all"
    assert shown["allowed_ips"] == "192.0.2.0/24"
    assert shown["event_type_from"] == ""
    # The token scheme's own settings; the verification and the secret are not edited here.
    assert (shown["signature_header"], shown["token_prefix"]) == ("Authorization", "Bearer")
    assert set(shown) == {
        "name",
        "signature_header",
        "token_prefix",
        "rules",
        "rule_mode",
        "event_type_from",
        "allowed_ips",
    }
    assert "tok-secret-1" not in page_text(page)


def test_an_edit_is_saved_keeping_the_ids_of_the_rules_left_alone(owner_client, endpoint):
    token, secret, generated_id = endpoint.token, endpoint.secret, endpoint.rules[1]["id"]
    rules = json.loads(shown_form(owner_client, endpoint)["rules"])
    rules[0]["message"] = "Thanks {{ name }}, order {{ order_number }} is in."
    rules.insert(
        0,
        {
            "event": "orders/create",
            "when": "total_price | float > 100",
            "stop": True,
            "channels": ["slack"],
            "recipient": "vip-desk",
            "message": "Big order {{ order_number }}",
        },
    )
    form = {
        **shown_form(owner_client, endpoint),
        "name": "Shop (EU)",
        "rule_mode": "first",
        "rules": json.dumps(rules),
        "event_type_from": '{"header": "X-Shopify-Topic"}',
        "allowed_ips": "203.0.113.0/24\r\n2001:db8::/32\r\n198.51.100.7",
        "token_prefix": "Token",
    }

    response = owner_client.post(edit_url(endpoint), form)

    assert response.status_code == 302, page_text(response)
    assert response["Location"] == f"/inbound/{endpoint.pk}/"
    endpoint.refresh_from_db()
    assert endpoint.name == "Shop (EU)"
    assert endpoint.rule_mode == "first"
    new_id, kept, untouched = (rule["id"] for rule in endpoint.rules)
    assert (kept, untouched) == ("customer-email", generated_id)
    assert new_id.startswith("rul_") and new_id != generated_id
    assert endpoint.rules[0]["when"] == "total_price | float > 100"
    assert endpoint.rules[1]["message"] == "Thanks {{ name }}, order {{ order_number }} is in."
    assert endpoint.event_type_from == {"header": "X-Shopify-Topic"}
    assert endpoint.allowed_ips == ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"]
    assert endpoint.token_prefix == "Token"
    assert (endpoint.verification, endpoint.token, endpoint.secret) == ("token", token, secret)

    detail = page_text(owner_client.get(response["Location"]))
    assert "Saved inbound endpoint Shop (EU)." in detail
    assert "Rule mode: <strong>The first matching rule fires</strong>" in detail
    assert "Event type: from the header <code>X-Shopify-Topic</code>" in detail
    assert (
        "Allowed IPs: <code>203.0.113.0/24</code>, <code>2001:db8::/32</code>, "
        "<code>198.51.100.7/32</code>"
    ) in detail
    assert "token_prefix: <code>Token</code>" in detail
    for rule_id in (new_id, "customer-email", generated_id):
        assert f'<span class="mono">{rule_id}</span>' in detail
    assert "when <code>total_price | float > 100</code>" in detail
    assert "stop: no later rule fires" in detail


def test_an_edit_leaves_alone_what_the_form_does_not_show(owner_client, endpoint):
    form = {**shown_form(owner_client, endpoint), "name": "Renamed"}
    # Meanwhile the endpoint is disabled and receiving counts a refused request.
    InboundEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, failed_verifications=3)

    assert owner_client.post(edit_url(endpoint), form).status_code == 302

    endpoint.refresh_from_db()
    assert endpoint.name == "Renamed"
    assert (endpoint.enabled, endpoint.failed_verifications) == (False, 3)


def test_the_page_says_what_an_endpoint_left_as_made_does(member_client, endpoint):
    detail = page_text(member_client.get(f"/inbound/{endpoint.pk}/"))

    assert "Rule mode: <strong>Every matching rule fires</strong>" in detail
    assert "Event type: where the sender puts it" in detail
    assert "Allowed IPs: <code>192.0.2.0/24</code>" in detail
    assert "Rules (2)" in detail


# (input, what the page sends, what the API is sent or None when it never gets there,
#  the input showing the error, the error's text)
BAD_INPUTS = {
    "allowed ip with host bits": (
        "allowed_ips",
        "203.0.113.0/24\n10.1.2.3/8",
        ["203.0.113.0/24", "10.1.2.3/8"],
        "allowed_ips[1]: '10.1.2.3/8' has host bits set; did you mean 10.0.0.0/8?",
    ),
    "allowed ip that is no network": (
        "allowed_ips",
        "office",
        ["office"],
        "allowed_ips[0]: 'office' is not an IP network.",
    ),
    "when that does not compile": (
        "rules",
        json.dumps([{**RULES[0], "when": "total_price >"}]),
        [{**RULES[0], "when": "total_price >"}],
        "rules[0].when: ",
    ),
    "event_type_from of no known source": (
        "event_type_from",
        '{"query": "topic"}',
        {"query": "topic"},
        'Give one of {"header": "X-Event-Name"}',
    ),
    "event_type_from with a bad header name": (
        "event_type_from",
        '{"header": "X Topic"}',
        {"header": "X Topic"},
        "event_type_from.header: ",
    ),
    "event_type_from that is no JSON": (
        "event_type_from",
        '{"header": ',
        None,
        "Not valid JSON: ",
    ),
    "blank signature header": (
        "signature_header",
        "",
        "",
        "This field may not be blank.",
    ),
    "token prefix that is no word": (
        "token_prefix",
        "Bearer: <x>",
        "Bearer: <x>",
        "A word such as 'Bearer ' (40 characters at most).",
    ),
    "blank name": ("name", "", None, "This field is required."),
}


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_a_bad_input_shows_the_form_with_the_apis_error_and_saves_nothing(
    case, owner_client, api, endpoint
):
    field, typed, sent_to_api, text = case
    before = row(endpoint)

    page = owner_client.post(
        edit_url(endpoint), {**shown_form(owner_client, endpoint), field: typed}
    )

    assert page.status_code == 200
    errors = page.context["form"].errors
    assert list(errors) == [field], errors
    [shown] = errors[field]
    assert shown.startswith(text), shown
    assert 'class="field has-error"' in page.content.decode()
    assert row(endpoint) == before
    if sent_to_api is not None:
        # The API's PATCH refuses the same value in the same words.
        refused = api.patch(
            f"/api/v1/inbound-endpoints/{endpoint.pk}",
            {field: sent_to_api},
            content_type="application/json",
        )
        assert refused.status_code == 400, refused.content
        assert refused.json()["error"]["message"].endswith(shown.split(": ", 1)[-1])
        assert row(endpoint) == before


def test_an_hmac_endpoints_description_is_edited_as_json(owner_client, account):
    endpoint = InboundEndpoint.objects.create(
        account=account,
        name="Grafana",
        verification="hmac",
        secret="s",
        signature_header="X-Sig",
        token="t-hmac",
        token_hash="h-hmac",
    )
    shown = shown_form(owner_client, endpoint)
    assert "token_prefix" not in shown
    described = {"algorithm": "sha512", "encoding": "base64"}

    saved = owner_client.post(edit_url(endpoint), {**shown, "hmac": json.dumps(described)})
    assert saved.status_code == 302, page_text(saved)
    endpoint.refresh_from_db()
    assert endpoint.hmac["algorithm"] == "sha512"
    assert endpoint.hmac["encoding"] == "base64"

    emptied = owner_client.post(
        edit_url(endpoint), {**shown_form(owner_client, endpoint), "hmac": ""}
    )
    assert emptied.status_code == 302, page_text(emptied)
    endpoint.refresh_from_db()
    assert endpoint.hmac["algorithm"] == "sha256"  # the defaults again


def test_another_accounts_endpoint_is_not_found(owner_client, make_account):
    theirs = InboundEndpoint.objects.create(
        account=make_account("Stranger"),
        name="theirs",
        verification="none",
        token="their-token",
        token_hash="their-hash",
    )
    before = row(theirs)

    assert owner_client.get(edit_url(theirs)).status_code == 404
    assert owner_client.post(edit_url(theirs), {"name": "mine", "rules": "[]"}).status_code == 404
    assert row(theirs) == before


def test_a_member_may_read_the_endpoint_but_not_edit_it(
    member_client, make_member, client, endpoint
):
    before = row(endpoint)

    assert member_client.get(edit_url(endpoint)).status_code == 403
    assert member_client.post(edit_url(endpoint), {"name": "x", "rules": "[]"}).status_code == 403
    assert row(endpoint) == before
    assert edit_url(endpoint) not in member_client.get(f"/inbound/{endpoint.pk}/").content.decode()

    client.force_login(make_member(role="admin").user)
    assert edit_url(endpoint) in client.get(f"/inbound/{endpoint.pk}/").content.decode()
    edited = client.post(edit_url(endpoint), {**shown_form(client, endpoint), "name": "By admin"})
    assert edited.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.name == "By admin"
