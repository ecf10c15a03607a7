"""Test mode's API keys (issue #20): op_test_ keys act in the account's test environment
(accounts.environments), a test key never makes or sees a live key, the key cap counts each
environment apart, and a member who leaves takes the test keys they minted with them."""

import pytest
from django.core.management import call_command

from accounts import api_keys, environments, invitations
from accounts.models import ApiKey, Membership
from tests.conftest import ApiClient, set_caps


def create_key(client: ApiClient, **fields):
    return client.post_json("/api/v1/api-keys", {"name": "made", **fields})


@pytest.fixture
def test_api(account) -> ApiClient:
    """An op_test_ key of `account` with every scope."""
    _, raw_key = api_keys.issue_key(environments.test_environment(account), "test key")
    return ApiClient(raw_key)


def test_a_live_admin_key_makes_a_test_key_shown_once(api, account):
    created = create_key(api, mode="test")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["key"].startswith("op_test_")
    assert len(body["key"]) - len("op_test_") >= 32
    assert body["livemode"] is False
    assert body["prefix"] == body["key"][: len(body["prefix"])]
    assert "mode" not in body  # write-only: livemode says it
    test_key = ApiClient(body["key"])
    # It acts in the test environment: the same account, seen in test mode.
    seen = test_key.get("/api/v1/account").json()
    assert (seen["id"], seen["livemode"]) == (account.pk, False)
    # Shown once: its own listing has no full key (and the live key does not list it).
    shown = test_key.get(f"/api/v1/api-keys/{body['id']}").json()
    assert "key" not in shown and shown["livemode"] is False
    assert body["key"] not in test_key.get("/api/v1/api-keys").content.decode()
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.account == environments.test_environment(account)
    assert stored.key_hash == api_keys.hash_key(body["key"])


def test_a_live_key_makes_live_keys_unless_told(api):
    made = create_key(api).json()
    told = create_key(api, mode="live").json()

    assert made["key"].startswith("op_live_") and made["livemode"] is True
    assert told["key"].startswith("op_live_") and told["livemode"] is True


def test_a_test_key_cannot_make_a_live_key(test_api, account):
    refused = create_key(test_api, mode="live")

    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "live_key_from_test_key"
    assert set(error) == {"code", "message", "details"}
    assert ApiKey.objects.filter(account=account).count() == 0


def test_a_test_key_makes_test_keys_by_default(test_api, account):
    for fields in ({}, {"mode": "test"}):
        created = create_key(test_api, **fields)

        assert created.status_code == 201, created.content
        assert created.json()["key"].startswith("op_test_")
        assert created.json()["livemode"] is False
    assert ApiKey.objects.filter(account=account).count() == 0


def test_test_keys_count_apart_from_live_keys_against_the_cap(api, test_api, account):
    set_caps(account, max_api_keys=3)  # the fixtures' keys are one of each
    for _ in range(2):
        assert create_key(api).status_code == 201
    assert create_key(api).json()["error"]["code"] == "limit_reached"

    # The live environment is full; the test environment has its own three.
    for _ in range(2):
        assert create_key(api, mode="test").status_code == 201
    refused = create_key(test_api)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "limit_reached"
    assert refused.json()["error"]["details"]["limit"] == 3
    assert ApiKey.objects.active().filter(account=account).count() == 3
    test_environment = environments.test_environment(account)
    assert ApiKey.objects.active().filter(account=test_environment).count() == 3


def test_create_api_key_test_prints_a_test_key(account, capsys):
    call_command("create_api_key", account.slug, "--name", "ci", "--test")
    captured = capsys.readouterr()
    raw_key = captured.out.strip().splitlines()[-1]

    assert raw_key.startswith("op_test_")
    assert "test-mode API key" in captured.err and account.slug in captured.err
    seen = ApiClient(raw_key).get("/api/v1/account").json()
    assert (seen["slug"], seen["livemode"]) == (account.slug, False)

    # A second one lands in the same test environment.
    call_command("create_api_key", account.slug, "--name", "ci 2", "--test")
    second = capsys.readouterr().out.strip().splitlines()[-1]
    listed = ApiClient(second).get("/api/v1/api-keys").json()["results"]
    assert {key["name"] for key in listed} == {"ci", "ci 2"}


def test_create_api_key_does_not_take_a_test_environments_slug(account):
    from django.core.management.base import CommandError

    hidden = environments.test_environment(account).slug

    with pytest.raises(CommandError, match="No account"):
        call_command("create_api_key", hidden, "--name", "x", "--test")


# --- A member who leaves takes their test keys with them -----------------------------


@pytest.fixture
def teammate(account, owner, django_user_model) -> Membership:
    user = django_user_model.objects.create_user(email="dev@example.com", password="x-y-z-1-2-3")
    return Membership.objects.create(user=user, account=account, role=Membership.Role.ADMIN)


@pytest.fixture
def teammate_keys(account, owner, teammate) -> dict[str, ApiClient]:
    """The teammate's keys in both environments, the keys those minted, and the owner's."""
    test_environment = environments.test_environment(account)
    _, live = api_keys.issue_key(account, "live", created_by_user=teammate.user)
    # The dashboard in test mode makes its keys in the test environment.
    _, test = api_keys.issue_key(test_environment, "test", created_by_user=teammate.user)
    minted_by_live = create_key(ApiClient(live), mode="test", name="minted by live").json()
    minted_by_test = create_key(ApiClient(test), name="minted by test").json()
    grandchild = create_key(ApiClient(minted_by_live["key"]), name="grandchild").json()
    _, owners_live = api_keys.issue_key(account, "owner's", created_by_user=owner)
    _, owners_test = api_keys.issue_key(test_environment, "owner's", created_by_user=owner)
    return {
        "live": ApiClient(live),
        "test": ApiClient(test),
        "minted by live": ApiClient(minted_by_live["key"]),
        "minted by test": ApiClient(minted_by_test["key"]),
        "grandchild": ApiClient(grandchild["key"]),
        "owner's live": ApiClient(owners_live),
        "owner's test": ApiClient(owners_test),
    }


def working(keys: dict[str, ApiClient]) -> set[str]:
    answers = {name: client.get("/api/v1/account").status_code for name, client in keys.items()}
    assert set(answers.values()) <= {200, 401}, answers
    return {name for name, status in answers.items() if status == 200}


def test_removing_a_member_revokes_their_test_keys_too(teammate, teammate_keys):
    assert len(working(teammate_keys)) == 7

    revoked = invitations.remove_member(teammate)

    assert working(teammate_keys) == {"owner's live", "owner's test"}
    assert sorted(key.name for key in revoked) == sorted(
        ["live", "test", "minted by live", "minted by test", "grandchild"]
    )


def test_demoting_a_member_revokes_their_test_keys_too(teammate, teammate_keys):
    revoked = invitations.change_role(teammate, Membership.Role.MEMBER)

    assert working(teammate_keys) == {"owner's live", "owner's test"}
    assert len(revoked) == 5
    assert invitations.remove_member(teammate) == []  # nothing left to revoke
