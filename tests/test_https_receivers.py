"""https where events travel, and https links behind a TLS-terminating proxy.

With DEBUG off, webhook endpoints and a message's callback_url must be https://
(ONEPING_ALLOW_HTTP_URLS lets operators allow http). SECURE_PROXY_SSL_HEADER comes from
the environment as HEADER,value, so the links we build come out https behind a proxy.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from oneping.env import env_proxy_ssl_header
from webhooks.models import WebhookEndpoint

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def https_only(settings):
    settings.ONEPING_ALLOW_HTTP_URLS = False


def test_a_webhook_endpoint_must_be_https(api, https_only):
    refused = api.post_json("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9000/hooks"})
    accepted = api.post_json("/api/v1/webhook-endpoints", {"url": "https://127.0.0.1:9000/hooks"})

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "https_required"
    assert "url" in refused.json()["error"]["details"]["fields"]
    assert accepted.status_code == 201, accepted.content


def test_an_endpoint_cannot_be_moved_to_http(api, https_only):
    endpoint = api.post_json("/api/v1/webhook-endpoints", {"url": "https://127.0.0.1/hooks"})

    response = api.patch(
        f"/api/v1/webhook-endpoints/{endpoint.json()['id']}",
        {"url": "http://127.0.0.1/hooks"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "https_required"


def test_a_callback_url_must_be_https(api, account, https_only, slack):
    from channels_app.models import ChannelConfig

    ChannelConfig.objects.create(account=account, kind="slack", config={"webhook_url": slack.url})
    body = {"message": "hi", "channels": ["slack"], "recipient": "ops"}

    refused = api.post_json("/api/v1/send", {**body, "callback_url": "http://127.0.0.1/cb"})
    accepted = api.post_json("/api/v1/send", {**body, "callback_url": "https://127.0.0.1/cb"})

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "https_required"
    assert accepted.status_code == 202, accepted.content


def test_the_dashboard_refuses_an_http_endpoint_next_to_the_field(client, owner, https_only):
    client.force_login(owner)

    response = client.post("/webhooks/new/", {"url": "http://127.0.0.1:9000/x"})

    assert response.status_code == 200
    assert "Use an https:// URL" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_operators_may_allow_http(api, settings):
    settings.ONEPING_ALLOW_HTTP_URLS = True

    response = api.post_json("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9000/hooks"})

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("off", None),
        ("1", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("true", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("HTTP_X_FORWARDED_PROTO,https", ("HTTP_X_FORWARDED_PROTO", "https")),
        (" HTTP_X_FORWARDED_SSL , on ", ("HTTP_X_FORWARDED_SSL", "on")),
    ],
)
def test_the_proxy_ssl_header_is_read_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", raw)
    assert env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER") == expected


@pytest.mark.parametrize("raw", ["X-Forwarded-Proto", "HTTP_X_FORWARDED_PROTO", "HTTP_X,a,b"])
def test_a_malformed_proxy_ssl_header_stops_the_process(monkeypatch, raw):
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", raw)
    with pytest.raises(ImproperlyConfigured, match="HTTP_X_FORWARDED_PROTO,https"):
        env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")


def test_production_settings_require_https_and_take_the_proxy_header(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "ONEPING_", "SECRET_KEY", "DEBUG", "SECURE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="oneping.settings",
        DEBUG="false",
        SECRET_KEY="Kq3n7w" * 12,
        ONEPING_ENCRYPTION_KEYS="dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=",
        ONEPING_DATA_DIR=str(tmp_path),
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
    )
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.ONEPING_ALLOW_HTTP_URLS, settings.SECURE_PROXY_SSL_HEADER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.fixture
def behind_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # What the proxy sends: the public host name, and the scheme the client used.
    return {"HTTP_HOST": "testserver", "HTTP_X_FORWARDED_PROTO": "https"}


def test_inbound_urls_are_https_behind_the_proxy(api, behind_proxy):
    response = api.post_json(
        "/api/v1/inbound-endpoints",
        {"name": "gh", "verification": "none", "rules": []},
        **behind_proxy,
    )

    assert response.status_code == 201, response.content
    assert response.json()["url"].startswith("https://testserver/hooks/in/")


def test_invitation_links_are_https_behind_the_proxy(client, owner, behind_proxy):
    client.force_login(owner)

    response = client.post(
        "/team/invite/", {"email": "new@example.com", "role": "member"}, **behind_proxy
    )

    assert response.status_code == 302
    assert re.search(r"https://testserver/invite/[^/\s]+/", mail.outbox[0].body)
    assert "http://testserver" not in mail.outbox[0].body
