"""An inbound verification scheme is one class: registering it is the only edit (issue #15).

A scheme defined here, put in the registry at runtime, must show up in the endpoint's
choices, the API, the dashboard form (with its own input) and the preset list, verify
what it is sent, and get a curl example that really verifies, with no other edit.
"""

import base64
import hashlib
import hmac
import html
import json
import re
import subprocess
from urllib.parse import urlsplit

import pytest

from webhooks.inbound import schemes
from webhooks.inbound.schemes import Preset, Scheme, VerificationFailed
from webhooks.inbound.schemes.base import CurlSigning, curl_header, equal
from webhooks.models import InboundEndpoint, InboundEvent


class Passphrase(Scheme):
    """The sender repeats the secret in a header named by the endpoint (no signature)."""

    name = "passphrase"
    label = "Passphrase in a header"
    settings = ("signature_header",)  # HMAC-SHA256's input in the form asks for it
    sample_event = "ping"
    presets = (
        Preset(
            key="passphrase-pings",
            name="Pings with a passphrase",
            rules=({"event": "ping", "message": "ping from {{ who }}"},),
        ),
    )

    def verify(self, body, headers, secret, *, signature_header="X-Passphrase", **_):
        if not equal(secret, headers.get(signature_header.lower(), "")):
            raise VerificationFailed(f"{signature_header} is not the passphrase.")

    def sample_body(self, event_type):
        return json.dumps({"event": event_type, "who": "curl"})

    def curl_signing(self, event_type, options):
        header = curl_header(options["signature_header"], "$SECRET", literal=False)
        return CurlSigning(headers=(header,))


@pytest.fixture
def passphrase(monkeypatch):
    monkeypatch.setitem(schemes.SCHEMES, Passphrase.name, Passphrase())


def test_the_registry_gives_the_choices_the_model_stored_before():
    assert schemes.verification_choices() == [
        ("none", "None"),
        ("hmac_sha256", "HMAC-SHA256 (hex) in a header"),
        ("standard_webhooks", "Standard Webhooks"),
        ("github", "GitHub"),
        ("stripe", "Stripe"),
        ("shopify", "Shopify"),
        ("hmac", "HMAC (algorithm, encoding and signed content of your choice)"),
        ("token", "Token in a header (e.g. Authorization: Bearer …)"),
        ("gitlab", "GitLab"),
        ("bitbucket", "Bitbucket"),
        ("woocommerce", "WooCommerce"),
        ("typeform", "Typeform"),
        ("sentry", "Sentry"),
        ("slack", "Slack (Events API)"),
        ("pagerduty", "PagerDuty"),
    ]
    field = InboundEndpoint._meta.get_field("verification")
    assert list(field.choices) == schemes.verification_choices()


def test_presets_are_listed_in_their_order_with_their_schemes_name():
    listed = [(preset["key"], preset["verification"]) for preset in schemes.presets()]

    assert listed == [
        ("shopify-orders", "shopify"),
        ("woocommerce-orders", "woocommerce"),
        ("github", "github"),
        ("gitlab", "gitlab"),
        ("bitbucket", "bitbucket"),
        ("stripe-payments", "stripe"),
        ("alertmanager", "token"),
        ("grafana", "hmac"),
        ("sentry", "sentry"),
        ("slack-events", "slack"),
        ("pagerduty", "pagerduty"),
        ("generic", "hmac_sha256"),
        ("typeform", "typeform"),
        ("jotform", "none"),
        ("google-forms", "token"),
    ]


def test_a_registered_scheme_is_a_choice_everywhere(passphrase, api, owner_client):
    field = InboundEndpoint._meta.get_field("verification")
    assert ("passphrase", "Passphrase in a header") in field.choices
    assert InboundEndpoint(verification="passphrase").get_verification_display() == (
        "Passphrase in a header"
    )
    field.validate("passphrase", None)

    form = html.unescape(owner_client.get("/inbound/new/").content.decode())
    assert '<option value="passphrase">Passphrase in a header</option>' in form
    assert '<option value="passphrase-pings">Pings with a passphrase</option>' in form

    presets = api.get("/api/v1/inbound-presets").json()
    assert {"key": "passphrase-pings", "verification": "passphrase"}.items() <= presets[-1].items()

    created = api.post_json(
        "/api/v1/inbound-endpoints",
        {"name": "api", "verification": "passphrase", "secret": "open sesame", "rules": []},
    )
    assert created.status_code == 201, created.content


def test_a_registered_scheme_gets_a_curl_example_that_verifies(
    passphrase, live_server, owner_client, account
):
    created = owner_client.post(
        "/inbound/new/",
        {
            "name": "pings",
            "verification": "passphrase",
            "secret": "open sesame",
            "signature_header": "X-Knock",
        },
    )
    assert created.status_code == 302, created.content.decode()
    endpoint = InboundEndpoint.objects.get(account=account)
    assert (endpoint.verification, endpoint.signature_header) == ("passphrase", "X-Knock")
    host = urlsplit(live_server.url).netloc
    page = owner_client.get(f"/inbound/{endpoint.pk}/", HTTP_HOST=host).content.decode()
    assert "Passphrase in a header in <code>X-Knock</code>" in page
    snippet = html.unescape(re.search(r'<pre id="curl-example">(.*?)</pre>', page, re.S)[1])

    run = subprocess.run(
        ["bash", "-c", snippet], capture_output=True, text=True, timeout=30, check=False
    )

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["received"] is True, run.stdout
    event = InboundEvent.objects.get(endpoint=endpoint)
    assert event.event_type == "ping"
    endpoint.refresh_from_db()
    assert endpoint.failed_verifications == 0


def test_a_scheme_gets_only_the_settings_it_declares():
    endpoint = InboundEndpoint(verification="github", signature_header="X-Other")

    assert schemes.SCHEMES["github"].options(endpoint) == {}
    assert schemes.SCHEMES["hmac_sha256"].options(endpoint) == {"signature_header": "X-Other"}


def test_presets_say_where_the_event_type_comes_from(api):
    listed = {
        preset["key"]: preset["settings"].get("event_type_from")
        for preset in api.get("/api/v1/inbound-presets").json()
    }

    assert listed == {
        "shopify-orders": {"header": "X-Shopify-Topic"},
        "woocommerce-orders": {"header": "X-WC-Webhook-Topic"},
        "github": {"header": "X-GitHub-Event"},
        "gitlab": {"header": "X-Gitlab-Event"},
        "bitbucket": {"header": "X-Event-Key"},
        "stripe-payments": {"path": "type"},
        "alertmanager": {"path": "status"},
        "grafana": {"path": "status"},
        "sentry": None,  # the scheme's own "issue.created" (see schemes/sentry.py)
        "slack-events": {"path": "event.type"},
        "pagerduty": {"path": "event.event_type"},
        "generic": {"path": "event"},
        "typeform": {"path": "event_type"},
        "jotform": {"path": "formTitle"},
        "google-forms": {"path": "form"},
    }


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, {"header": "X-Gitlab-Event"}),  # null: the preset's
        ({}, None),  # {}: the scheme's own
        ({"path": "object_kind"}, {"path": "object_kind"}),
    ],
)
def test_a_presets_event_type_from_gives_way_to_the_requests(api, channels, given, kept):
    created = api.post_json(
        "/api/v1/inbound-endpoints",
        {"name": "gl", "preset": "gitlab", "secret": "t0ken", "event_type_from": given},
    )

    assert created.status_code == 201, created.content
    assert created.json()["event_type_from"] == kept


@pytest.mark.parametrize(
    ("verification", "header", "signature", "reason"),
    [
        ("github", "X-Hub-Signature-256", None, "The X-Hub-Signature-256 header is missing."),
        ("github", "X-Hub-Signature-256", "sha1=00", "must start with 'sha256='."),
        ("bitbucket", "X-Hub-Signature", "SHA256=" + "0" * 64, "must start with 'sha256='."),
        ("typeform", "Typeform-Signature", "c2lnbmF0dXJl", "must start with 'sha256='."),
        ("shopify", "X-Shopify-Hmac-Sha256", "c2lnbmF0dXJl", "Signature mismatch"),
        ("woocommerce", "X-WC-Webhook-Signature", "c2lnbmF0dXJl", "Signature mismatch"),
        ("sentry", "Sentry-Hook-Signature", "0" * 64, "Signature mismatch"),
    ],
)
def test_a_body_hmac_is_refused_with_the_reason(verification, header, signature, reason):
    headers = {} if signature is None else {header.lower(): signature}

    with pytest.raises(VerificationFailed, match=re.escape(reason)):
        schemes.SCHEMES[verification].verify(b'{"a": 1}', headers, "s3cret")


@pytest.mark.parametrize(
    ("verification", "header", "prefix", "encode"),
    [
        ("github", "X-Hub-Signature-256", "sha256=", lambda d: d.hex()),
        ("github", "X-Hub-Signature-256", "sha256=", lambda d: d.hex().upper()),
        ("bitbucket", "X-Hub-Signature", "sha256=", lambda d: d.hex()),
        ("sentry", "Sentry-Hook-Signature", "", lambda d: d.hex().upper()),
        ("shopify", "X-Shopify-Hmac-Sha256", "", lambda d: base64.b64encode(d).decode()),
        ("woocommerce", "X-WC-Webhook-Signature", "", lambda d: base64.b64encode(d).decode()),
        ("typeform", "Typeform-Signature", "sha256=", lambda d: base64.b64encode(d).decode()),
    ],
)
def test_a_body_hmac_verifies_in_the_senders_encoding(verification, header, prefix, encode):
    body = b'{"a": 1}'
    digest = hmac.new(b"s3cret", body, hashlib.sha256).digest()
    scheme = schemes.SCHEMES[verification]

    scheme.verify(body, {header.lower(): prefix + encode(digest)}, "s3cret")
    with pytest.raises(VerificationFailed, match="Signature mismatch"):
        scheme.verify(body + b" ", {header.lower(): prefix + encode(digest)}, "s3cret")
