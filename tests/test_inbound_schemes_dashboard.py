"""The second wave's schemes in the dashboard: their settings in the form, and a "Try it
with curl" example that really verifies, for each of them."""

import html
import json
import re
import subprocess
from urllib.parse import urlsplit

import pytest

from webhooks.models import InboundEndpoint, InboundEvent

RULES = json.dumps(
    [{"event": "*", "message": "{{ event_type }}", "channels": ["slack"], "recipient": "o"}]
)
GRAFANA_LIKE = json.dumps(
    {
        "algorithm": "sha512",
        "encoding": "base64",
        "prefix": "sha512=",
        "timestamp_header": "X-Ts",
        "signed_content": "{timestamp}:{body}",
    }
)


@pytest.mark.parametrize(
    ("verification", "fields"),
    [
        ("hmac", {"signature_header": "X-Sig", "hmac": GRAFANA_LIKE}),
        ("hmac", {}),
        ("token", {"signature_header": "Authorization", "token_prefix": "Bearer "}),
        ("token", {"signature_header": "X-Key"}),
        ("gitlab", {}),
        ("bitbucket", {}),
        ("woocommerce", {}),
        ("typeform", {}),
        ("sentry", {}),
        ("slack", {}),
        ("pagerduty", {}),
    ],
)
def test_the_curl_example_of_each_scheme_verifies(
    verification, fields, live_server, owner_client, account, channels
):
    created = owner_client.post(
        "/inbound/new/",
        {"name": "n", "verification": verification, "secret": "s3cret-1", "rules": RULES, **fields},
    )
    assert created.status_code == 302, created.content.decode()
    endpoint = InboundEndpoint.objects.get(account=account)
    if "hmac" in fields:
        assert endpoint.hmac == json.loads(fields["hmac"])
    if "token_prefix" in fields:
        # The form trims what it is given; the scheme takes "Bearer" and "Bearer " alike.
        assert endpoint.token_prefix.strip() == "Bearer"
    host = urlsplit(live_server.url).netloc
    page = owner_client.get(f"/inbound/{endpoint.pk}/", HTTP_HOST=host).content.decode()
    snippet = html.unescape(re.search(r'<pre id="curl-example">(.*?)</pre>', page, re.S)[1])

    run = subprocess.run(
        ["bash", "-c", snippet], capture_output=True, text=True, timeout=30, check=False
    )

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout).get("received") is True, (snippet, run.stdout)
    assert InboundEvent.objects.filter(endpoint=endpoint).count() == 1
    endpoint.refresh_from_db()
    assert endpoint.failed_verifications == 0, endpoint.last_failure_reason


def test_a_bad_hmac_description_is_shown_on_the_form(owner_client, account, channels):
    response = owner_client.post(
        "/inbound/new/",
        {
            "name": "n",
            "verification": "hmac",
            "secret": "s",
            "rules": RULES,
            "hmac": '{"algorithm": "md5"}',
        },
    )

    assert response.status_code == 200
    assert "One of sha1, sha256, sha512." in html.unescape(response.content.decode())
    assert not InboundEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("", {"path": "status"}),  # left blank: the preset's
        ('{"path": "commonLabels.severity"}', {"path": "commonLabels.severity"}),
    ],
)
def test_a_preset_made_on_the_form_gets_its_event_type_from_unless_one_is_typed(
    owner_client, account, channels, typed, kept
):
    created = owner_client.post(
        "/inbound/new/",
        {
            "name": "alerts",
            "preset": "alertmanager",
            "secret": "tok",
            "preset_channels": ["slack"],
            "event_type_from": typed,
        },
    )

    assert created.status_code == 302, created.content.decode()
    endpoint = InboundEndpoint.objects.get(account=account)
    assert (endpoint.verification, endpoint.event_type_from) == ("token", kept)
    assert [rule["event"] for rule in endpoint.rules] == ["*"]
