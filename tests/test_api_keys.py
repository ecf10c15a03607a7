from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts import api_keys
from accounts.models import Account, ApiKey
from tests.conftest import ApiClient


def test_api_key_lifecycle_create_use_revoke(api):
    # Given a key (the fixture) that works
    assert api.get("/api/v1/account").status_code == 200

    # When it creates a second key through the API
    created = api.post_json("/api/v1/api-keys", {"name": "ci"})
    assert created.status_code == 201
    body = created.json()
    new_key = body["key"]
    assert new_key.startswith("op_live_")
    assert len(new_key) - len("op_live_") >= 32
    assert body["id"].startswith("key_")
    assert body["prefix"] == new_key[: len(body["prefix"])]
    second = ApiClient(new_key)
    assert second.get("/api/v1/account").status_code == 200

    # The full key is never shown again
    shown = api.get(f"/api/v1/api-keys/{body['id']}").json()
    assert "key" not in shown
    assert new_key not in api.get("/api/v1/api-keys").content.decode()

    # When it is revoked
    assert api.delete(f"/api/v1/api-keys/{body['id']}").status_code == 204

    # Then it stops working at once, with the documented error
    refused = second.get("/api/v1/account")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert api.get(f"/api/v1/api-keys/{body['id']}").json()["revoked"] is True


def test_unknown_and_malformed_keys_never_authenticate(api_key):
    almost = api_key[:-1] + ("A" if api_key[-1] != "A" else "B")
    for header in (
        f"Bearer {almost}",
        "Bearer op_live_short",
        f"Token {api_key}",
        "Bearer",
        f"Bearer {api_key.upper()}",
    ):
        response = ApiClient(HTTP_AUTHORIZATION=header).get("/api/v1/account")
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "invalid_api_key"


def test_keys_are_stored_hashed_never_in_clear(account):
    _, raw_key = api_keys.issue_key(account, "secret check")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey")
        rows = cursor.fetchall()

    stored = " ".join(str(value) for row in rows for value in row)
    assert raw_key not in stored
    assert raw_key[len("op_live_") :] not in stored
    assert ApiKey.objects.get().key_hash == api_keys.hash_key(raw_key)


def test_last_used_at_is_written_at_most_once_a_minute(api, api_key, django_assert_num_queries):
    key = ApiKey.objects.get()
    assert key.last_used_at is None

    api.get("/api/v1/account")
    first = ApiKey.objects.get().last_used_at
    assert first is not None

    # A second request within the minute reads the key but writes nothing.
    with django_assert_num_queries(2):  # the key lookup + the usage counter
        api.get("/api/v1/account")
    assert ApiKey.objects.get().last_used_at == first

    ApiKey.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    api.get("/api/v1/account")
    assert ApiKey.objects.get().last_used_at > first


def test_create_account_and_create_api_key_commands(db, capsys):
    call_command(
        "create_account", "ops@example.com", "--password", "s3cret-demo-pass", "--name", "Ops Team"
    )
    slug = capsys.readouterr().out.strip()
    account = Account.objects.get(slug=slug)
    assert account.name == "Ops Team"
    assert account.members.get().emailaddress_set.get().verified

    call_command("create_api_key", slug, "--name", "demo")
    printed = capsys.readouterr().out.strip().splitlines()
    raw_key = printed[-1]
    assert raw_key.startswith("op_live_")
    assert ApiClient(raw_key).get("/api/v1/account").json()["id"] == account.id


def test_create_account_refuses_an_existing_email(account):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already exists"):
        call_command("create_account", account.members.get().email, "--password", "x-y-z-1-2-3")


def test_create_api_key_refuses_an_unknown_account(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No account"):
        call_command("create_api_key", "no-such-account", "--name", "x")
