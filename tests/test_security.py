"""Security hardening: rate limits, brute force, headers, deploy checks, secrets at rest, SSRF."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts import api_keys
from oneping.urlguard import UrlNotAllowed, check_url
from tests.conftest import TELEGRAM_TOKEN, ApiClient

ROOT = Path(__file__).resolve().parent.parent


def start_of_a_fresh_rate_window(needed_seconds: float = 15) -> None:
    """The limiter counts per clock minute: begin where the test cannot straddle two."""
    from accounts.throttling import WINDOW_SECONDS

    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < needed_seconds:
        time.sleep(left + 0.1)


def test_each_api_key_is_rate_limited_at_its_plans_rate(api, account, make_api_client):
    account.plan.api_requests_per_minute = 3
    account.plan.save()
    start_of_a_fresh_rate_window()
    for _ in range(3):
        assert api.get("/api/v1/account").status_code == 200

    refused = api.get("/api/v1/account")

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["details"]["retry_after"] > 0
    _, other_key = api_keys.issue_key(account, "another key")
    assert ApiClient(other_key).get("/api/v1/account").status_code == 200


@pytest.mark.skipif(
    "redis" not in settings.CACHES["default"]["BACKEND"].lower(),
    reason="needs a shared cache: set CACHE_URL=redis://… (the PostgreSQL + Redis profile does)",
)
def test_the_rate_limit_holds_across_processes(transactional_db, account):
    account.plan.api_requests_per_minute = 2
    account.plan.save()
    _, raw_key = api_keys.issue_key(account, "k")
    start_of_a_fresh_rate_window()
    for _ in range(2):
        assert ApiClient(raw_key).get("/api/v1/account").status_code == 200

    # A second process, as another web worker would be, sharing only the cache and database.
    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        f"print(Client(HTTP_AUTHORIZATION='Bearer {raw_key}').get('/api/v1/account').status_code)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env["ONEPING_TEST_DATA_DIR"] = str(settings.DATA_DIR)
    env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.stdout.strip().splitlines()[-1] == "429", result.stderr


def test_repeated_failed_logins_are_locked_out(client, owner):
    for _ in range(5):
        client.post("/accounts/login/", {"login": owner.email, "password": "wrong guess"})

    locked = client.post(
        "/accounts/login/", {"login": owner.email, "password": "correct-horse-battery"}
    )

    assert "Too many failed login attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_pages_carry_security_headers(client, db):
    page = client.get("/accounts/login/", secure=True)

    policy = page["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "ONEPING_", "SECRET_KEY", "DEBUG"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="oneping.settings",
        DEBUG="false",
        SECRET_KEY="Kq3n7w" * 12,
        ONEPING_ENCRYPTION_KEYS="dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=",
        ALLOWED_HOSTS="oneping.example.com",
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_PRELOAD="true",
        ONEPING_DATA_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_secret_is_stored_in_clear(api, account, settings, slack, discord):
    """Read the raw columns of every table and look for each secret we were given."""
    settings.ONEPING_ALLOW_PRIVATE_URLS = True
    _, raw_key = api_keys.issue_key(account, "k")
    secrets = {
        "bot token": TELEGRAM_TOKEN,
        "smtp password": "smtp-pa55word-xyz",
        "slack url": f"{slack.url}/services/T0/B0/slacksecretpart",
        "discord url": f"{discord.url}/api/webhooks/1/discordsecretpart",
        "contact slack url": f"{slack.url}/services/T1/B1/contactsecretpart",
        "inbound secret": "inbound-shared-secret-xyz",
        "api key": raw_key,
    }
    for kind, config in {
        "telegram": {"bot_token": secrets["bot token"]},
        "email": {"host": "127.0.0.1", "port": 2525, "password": secrets["smtp password"]},
        "slack": {"webhook_url": secrets["slack url"]},
        "discord": {"webhook_url": secrets["discord url"]},
    }.items():
        assert (
            api.post_json("/api/v1/channels", {"kind": kind, "config": config}).status_code == 201
        )
    api.post_json(
        "/api/v1/contacts",
        {"identifier": "c", "addresses": {"slack": secrets["contact slack url"]}},
    )
    endpoint = api.post_json("/api/v1/webhook-endpoints", {"url": f"{slack.url}/events"}).json()
    secrets["webhook secret"] = endpoint["secret"]
    secrets["signing secret"] = api.get("/api/v1/account/signing-secret").json()["secret"]
    inbound = api.post_json(
        "/api/v1/inbound-endpoints",
        {"name": "i", "verification": "github", "secret": secrets["inbound secret"], "rules": []},
    ).json()
    secrets["inbound url token"] = inbound["url"].rsplit("/", 1)[1]
    api.post_json("/api/v1/send", {"message": "x", "channels": ["slack"], "recipient": "c"})

    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump.extend(str(value) for row in cursor.fetchall() for value in row)
    everything = "\n".join(dump)

    for name, secret in secrets.items():
        assert secret not in everything, f"{name} is stored in clear"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://2130706433/",  # decimal spelling of 127.0.0.1
        "http://0177.0.0.1/",  # octal
        "http://0x7f.0.0.1/",  # hex
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
        "http://[::ffff:7f00:1]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://224.0.0.1/",  # multicast
        "http://localhost/",  # a name that resolves to loopback
        "http://localhost.:8080/",
    ],
)
def test_the_url_guard_refuses_non_public_addresses(url):
    with pytest.raises(UrlNotAllowed):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pw@8.8.8.8/",
        "http:///x",
    ],
)
def test_the_url_guard_refuses_other_schemes_and_forms(url):
    with pytest.raises(UrlNotAllowed):
        check_url(url, allow_private=False)


def test_the_url_guard_accepts_a_public_address():
    assert check_url("https://8.8.8.8/hook", allow_private=False) == "https://8.8.8.8/hook"
