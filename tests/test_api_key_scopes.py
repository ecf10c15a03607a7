"""API key scopes: one rule for every route (accounts.scopes), walked over every URL."""

import re
from itertools import combinations

import pytest
from django.core.management import call_command
from rest_framework.schemas.generators import EndpointEnumerator, is_api_view
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts import api_keys, invitations
from accounts.models import ApiKey, Membership
from accounts.scopes import ALL_SCOPES, ScopePermission, required_scopes
from tests.conftest import ApiClient, set_caps

# The OpenAPI document and its viewer: public, they answer without a key.
PUBLIC_PATHS = {"/api/schema/", "/api/docs/"}


def api_routes() -> list[tuple[str, str, APIView]]:
    """(path, method, view) for every DRF route the URL resolver knows, the view made as a
    request would make it (with its @action keywords)."""

    class EveryApiView(EndpointEnumerator):
        def should_include_endpoint(self, path, callback) -> bool:
            return is_api_view(callback)  # also what the schema leaves out (the /send alias)

    routes = []
    for path, method, callback in EveryApiView().get_api_endpoints():
        view = callback.cls(**getattr(callback, "initkwargs", {}))
        actions = getattr(callback, "actions", None)
        view.action_map = actions
        view.action = actions.get(method.lower()) if actions else None
        routes.append((path, method, view))
    return routes


def concrete(path: str) -> str:
    # Scopes are checked before the object is looked up, so any id will do.
    return re.sub(r"\{\w+\}", "key_0notthere", path)


@pytest.fixture
def key_with(account):
    """An API client whose key has exactly the given scopes (one key per combination)."""
    made: dict[tuple[str, ...], ApiClient] = {}

    def make(*scopes: str) -> ApiClient:
        if scopes not in made:
            _, raw_key = api_keys.issue_key(account, f"scopes {scopes}", scopes)
            made[scopes] = ApiClient(raw_key)
        return made[scopes]

    return make


def call(client: ApiClient, method: str, path: str):
    return client.generic(method, path, "{}", content_type="application/json")


def test_every_api_route_names_its_scope_and_refuses_a_key_without_it(key_with):
    routes = [route for route in api_routes() if route[0] not in PUBLIC_PATHS]
    assert len(routes) > 30  # the walk found the API (each viewset's list, detail, actions)
    assert {"/api/v1/send", "/send", "/api/v1/api-keys/{pk}"} <= {path for path, _, _ in routes}

    for path, method, view in routes:
        where = f"{method} {path}"
        assert any(isinstance(p, ScopePermission) for p in view.get_permissions()), where
        needed = required_scopes(view, method)
        assert needed and set(needed) <= set(ALL_SCOPES), where

        # A key holding every scope but the needed ones: 403, naming what is missing.
        lacking = tuple(scope for scope in ALL_SCOPES if scope not in needed)
        refused = call(key_with(*lacking), method, concrete(path))
        assert refused.status_code == 403, where
        error = refused.json()["error"]
        assert error["code"] == "insufficient_scope", where
        assert error["details"]["required_scopes"] == list(needed), where
        for scope in needed:
            assert f"`{scope}`" in error["message"], where

        # A key holding any one of them gets past the check (a 4xx of the route, or success).
        for scope in needed:
            allowed = call(key_with(scope), method, concrete(path))
            assert allowed.status_code != 403, (where, scope, allowed.content)


def test_the_rule_for_each_kind_of_route():
    expected = {
        ("GET", "/api/v1/messages"): ("send", "read"),
        ("GET", "/api/v1/messages/{pk}"): ("send", "read"),
        ("GET", "/api/v1/deliveries"): ("send", "read"),
        ("POST", "/api/v1/send"): ("send",),
        ("POST", "/send"): ("send",),
        ("POST", "/api/v1/deliveries/{pk}/retry"): ("send",),
        ("GET", "/api/v1/account"): ("read",),
        ("GET", "/api/v1/channels"): ("read",),
        ("GET", "/api/v1/api-keys"): ("read",),
        ("GET", "/api/v1/events"): ("read",),
        ("GET", "/api/v1/webhook-endpoints/{pk}"): ("read",),
        ("GET", "/api/v1/inbound-events/{pk}"): ("read",),
        # GETs that reveal a secret.
        ("GET", "/api/v1/webhook-endpoints/{pk}/secret"): ("admin",),
        ("GET", "/api/v1/account/signing-secret"): ("admin",),
        ("GET", "/api/v1/inbound-endpoints"): ("admin",),  # the URL carries its token
        ("GET", "/api/v1/inbound-endpoints/{pk}"): ("admin",),
        # Every other write.
        ("POST", "/api/v1/channels"): ("admin",),
        ("POST", "/api/v1/channels/{pk}/test"): ("admin",),
        ("PATCH", "/api/v1/contacts/{pk}"): ("admin",),
        ("POST", "/api/v1/api-keys"): ("admin",),
        ("DELETE", "/api/v1/api-keys/{pk}"): ("admin",),
        ("POST", "/api/v1/webhook-endpoints/{pk}/rotate-secret"): ("admin",),
        ("POST", "/api/v1/inbound-events/reprocess"): ("admin",),
    }
    found = {(method, path): required_scopes(view, method) for path, method, view in api_routes()}
    for route, scopes in expected.items():
        assert found[route] == scopes, route


def test_a_route_added_later_is_covered_without_declaring_anything():
    class NewView(APIView):
        pass

    view = NewView()
    assert any(isinstance(p, ScopePermission) for p in view.get_permissions())
    assert required_scopes(view, "GET") == ("read",)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert required_scopes(view, method) == ("admin",)


def test_a_logged_in_person_is_not_scoped_by_keys(owner):
    # Sessions act with the person's role in the account (accounts.permissions), not scopes.
    request = APIRequestFactory().post("/api/v1/channels")
    force_authenticate(request, user=owner)
    view = APIView()
    assert ScopePermission().has_permission(APIView().initialize_request(request), view)


def test_the_schema_documents_each_operations_scope(client, db):
    document = client.get("/api/schema/?format=json").json()
    by_route = {(method, path): view for path, method, view in api_routes()}
    operations = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            drf_path = re.sub(r"\{id\}", "{pk}", path)
            view = by_route[(method.upper(), drf_path)]
            needed = list(required_scopes(view, method.upper()))
            assert operation["x-required-scopes"] == needed, (method, path)
            assert "API key scope:" in operation["description"]
            assert "insufficient_scope" in operation["responses"]["403"]["description"]
            operations += 1
    assert operations > 30
    schemas = document["components"]["schemas"]
    scopes = schemas["ApiKey"]["properties"]["scopes"]
    assert scopes["type"] == "array"
    assert schemas[scopes["items"]["$ref"].rsplit("/", 1)[1]]["enum"] == list(ALL_SCOPES)


# --- What each scope allows, end to end --------------------------------------------------


def test_a_send_key_sends_and_reads_messages_and_nothing_else(key_with, channels):
    sender = key_with("send")

    sent = sender.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["slack"], "recipient": "ops"}
    )
    assert sent.status_code == 202, sent.content
    assert sender.get(f"/api/v1/messages/{sent.json()['id']}").status_code == 200
    assert sender.get("/api/v1/messages").status_code == 200
    assert sender.get("/api/v1/deliveries").status_code == 200

    refused = sender.get("/api/v1/channels")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert "`read`" in refused.json()["error"]["message"]
    assert sender.post_json("/api/v1/contacts", {"identifier": "x"}).status_code == 403
    assert sender.get("/api/v1/account/signing-secret").status_code == 403


def test_a_read_key_reads_but_neither_writes_sends_nor_sees_secrets(key_with, channels):
    reader = key_with("read")
    admin = key_with("admin")
    endpoint = admin.post_json("/api/v1/webhook-endpoints", {"url": "https://example.com/h"})
    assert endpoint.status_code == 201

    for path in ("/api/v1/account", "/api/v1/channels", "/api/v1/messages", "/api/v1/api-keys"):
        assert reader.get(path).status_code == 200, path
    assert reader.get(f"/api/v1/webhook-endpoints/{endpoint.json()['id']}").status_code == 200

    for method, path in [
        ("GET", f"/api/v1/webhook-endpoints/{endpoint.json()['id']}/secret"),
        ("GET", "/api/v1/account/signing-secret"),
        ("GET", "/api/v1/inbound-endpoints"),
        ("POST", "/api/v1/contacts"),
        ("DELETE", f"/api/v1/webhook-endpoints/{endpoint.json()['id']}"),
    ]:
        refused = call(reader, method, path)
        assert refused.status_code == 403, path
        assert "`admin`" in refused.json()["error"]["message"], path
    refused = reader.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["slack"], "recipient": "ops"}
    )
    assert refused.status_code == 403
    assert "`send`" in refused.json()["error"]["message"]
    assert refused.json()["error"]["details"]["key_scopes"] == ["read"]


# --- Creating keys -----------------------------------------------------------------------


def test_a_key_is_created_with_scopes_and_shows_them_everywhere(api):
    creator = ApiKey.objects.get()
    created = api.post_json("/api/v1/api-keys", {"name": "sender", "scopes": ["send"]})

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["scopes"] == ["send"]
    assert body["created_by_key"] == creator.pk
    assert body["created_by_user"] is None
    assert api.get(f"/api/v1/api-keys/{body['id']}").json()["scopes"] == ["send"]
    listed = {key["id"]: key for key in api.get("/api/v1/api-keys").json()["results"]}
    assert listed[body["id"]]["scopes"] == ["send"]
    assert listed[creator.pk]["scopes"] == ["send", "read", "admin"]
    assert ApiKey.objects.get(pk=body["id"]).created_by_key == creator


def test_a_key_never_mints_a_key_with_more_scope_than_its_own(key_with):
    manager = key_with("read", "admin")

    refused = manager.post_json("/api/v1/api-keys", {"name": "x", "scopes": ["send", "read"]})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "insufficient_scope"
    assert "`send`" in error["message"]
    assert error["details"]["required_scopes"] == ["send"]

    # Omitted scopes: as much as the creating key may grant, i.e. its own.
    default = manager.post_json("/api/v1/api-keys", {"name": "same"})
    assert default.status_code == 201
    assert default.json()["scopes"] == ["read", "admin"]
    lesser = manager.post_json("/api/v1/api-keys", {"name": "r", "scopes": ["read", "read"]})
    assert lesser.json()["scopes"] == ["read"]
    assert ApiKey.objects.filter(name="x").count() == 0


@pytest.mark.parametrize("scopes", [[], ["root"], "send", [None]])
def test_unknown_or_empty_scopes_are_a_validation_error(api, scopes):
    response = api.post_json("/api/v1/api-keys", {"name": "x", "scopes": scopes})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "scopes" in response.json()["error"]["details"]["fields"]


def test_the_account_key_cap_answers_limit_reached(api, account):
    set_caps(account, max_api_keys=3)
    for n in range(2):  # the fixture's key is the first
        assert api.post_json("/api/v1/api-keys", {"name": f"k{n}"}).status_code == 201

    refused = api.post_json("/api/v1/api-keys", {"name": "one too many"})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "limit_reached"
    assert error["details"]["limit"] == 3
    assert "3" in error["message"]

    # Revoked keys do not count.
    spare = ApiKey.objects.get(name="k0")
    assert api.delete(f"/api/v1/api-keys/{spare.pk}").status_code == 204
    assert api.post_json("/api/v1/api-keys", {"name": "replacement"}).status_code == 201


def test_create_api_key_gives_every_scope_unless_told(account, capsys):
    call_command("create_api_key", account.slug, "--name", "all")
    call_command("create_api_key", account.slug, "--name", "sender", "--scope", "send")

    assert ApiKey.objects.get(name="all").scopes == ["send", "read", "admin"]
    assert ApiKey.objects.get(name="sender").scopes == ["send"]


def test_existing_keys_keep_every_scope_after_the_migration(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("accounts", "0004_plan_api_rate")]
    after = [("accounts", "0005_api_key_scopes")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        account = old.get_model("accounts", "Account").objects.create(
            id="acct_migration", name="Old", slug="old", plan_id=_free_plan_id(old)
        )
        old.get_model("accounts", "ApiKey").objects.create(
            id="key_migration", account=account, name="old", prefix="op_live_old", key_hash="0"
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        call_command("migrate", verbosity=0)  # whatever later migrations there are

    assert ApiKey.objects.get(pk="key_migration").scopes == ["send", "read", "admin"]


def _free_plan_id(apps) -> int:
    plan, _ = apps.get_model("accounts", "Plan").objects.get_or_create(
        name="free", defaults={"display_name": "Free", "monthly_quota": 100}
    )
    return plan.pk


def test_scope_combinations_are_listed_in_canonical_order(account):
    for size in range(1, 4):
        for scopes in combinations(reversed(ALL_SCOPES), size):
            api_key, _ = api_keys.issue_key(account, "c", scopes)
            assert api_key.scopes == [scope for scope in ALL_SCOPES if scope in scopes]


# --- Keys outlive nobody's authority -----------------------------------------------------


@pytest.fixture
def teammate(account, owner, django_user_model) -> Membership:
    user = django_user_model.objects.create_user(email="dev@example.com", password="x-y-z-1-2-3")
    return Membership.objects.create(user=user, account=account, role=Membership.Role.ADMIN)


@pytest.fixture
def teammate_keys(account, owner, teammate) -> dict[str, tuple[ApiKey, ApiClient]]:
    """A key the teammate made in the dashboard, one that key minted through the API, and
    one the owner made."""
    deploy, raw = api_keys.issue_key(account, "deploy bot", created_by_user=teammate.user)
    minted = ApiClient(raw).post_json("/api/v1/api-keys", {"name": "minted", "scopes": ["send"]})
    assert minted.status_code == 201
    own, own_raw = api_keys.issue_key(account, "owner key", created_by_user=owner)
    return {
        "deploy": (deploy, ApiClient(raw)),
        "minted": (ApiKey.objects.get(pk=minted.json()["id"]), ApiClient(minted.json()["key"])),
        "own": (own, ApiClient(own_raw)),
    }


def works(client: ApiClient) -> bool:
    status = client.get("/api/v1/messages").status_code
    assert status in (200, 401)
    return status == 200


def test_removing_a_member_revokes_their_keys_and_the_owner_sees_which(
    client, owner, teammate, teammate_keys
):
    client.force_login(owner)

    page = client.post(f"/team/members/{teammate.pk}/remove/", follow=True).content.decode()

    assert not works(teammate_keys["deploy"][1])
    assert not works(teammate_keys["minted"][1])  # minted by their key: theirs too
    assert works(teammate_keys["own"][1])
    assert "Revoked 2 API keys dev@example.com created" in page
    for name in ("deploy", "minted"):
        api_key = teammate_keys[name][0]
        assert f"{api_key.name} ({api_key.prefix}…)" in page


def test_demoting_a_member_below_admin_revokes_their_keys(client, owner, teammate, teammate_keys):
    client.force_login(owner)

    # Owner and admin both manage keys: moving between them leaves keys alone.
    client.post(f"/team/members/{teammate.pk}/role/", {"role": "owner"})
    client.post(f"/team/members/{teammate.pk}/role/", {"role": "admin"})
    assert works(teammate_keys["deploy"][1])

    page = client.post(f"/team/members/{teammate.pk}/role/", {"role": "member"}, follow=True)

    assert not works(teammate_keys["deploy"][1])
    assert not works(teammate_keys["minted"][1])
    assert works(teammate_keys["own"][1])
    assert f"({teammate_keys['deploy'][0].prefix}…)" in page.content.decode()


def test_the_team_service_returns_what_it_revoked(teammate, teammate_keys):
    revoked = invitations.change_role(teammate, Membership.Role.MEMBER)

    assert {key.name for key in revoked} == {"deploy bot", "minted"}
    assert invitations.remove_member(teammate) == []  # nothing left to revoke


def test_removing_a_member_in_the_admin_revokes_their_keys(
    admin_client, account, owner, teammate, teammate_keys
):
    owner_membership = Membership.objects.get(user=owner, account=account)
    form = {
        "name": account.name,
        "slug": account.slug,
        "plan": account.plan_id,
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "2",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for n, membership in enumerate([owner_membership, teammate]):
        form |= {
            f"memberships-{n}-id": membership.pk,
            f"memberships-{n}-account": account.pk,
            f"memberships-{n}-user": membership.user_id,
            f"memberships-{n}-role": membership.role,
        }
    form["memberships-1-DELETE"] = "on"

    response = admin_client.post(f"/admin/accounts/account/{account.pk}/change/", form, follow=True)

    assert response.status_code == 200
    assert not Membership.objects.filter(pk=teammate.pk).exists()
    assert not works(teammate_keys["deploy"][1])
    assert not works(teammate_keys["minted"][1])
    assert works(teammate_keys["own"][1])
    assert "Revoked API keys: deploy bot" in response.content.decode()


def test_deleting_a_user_revokes_the_keys_they_created(teammate, teammate_keys):
    # The cascade skips the team service; the Membership pre_delete hook catches it.
    teammate.user.delete()

    assert not works(teammate_keys["deploy"][1])
    assert not works(teammate_keys["minted"][1])
    assert works(teammate_keys["own"][1])


# --- The dashboard's keys page ------------------------------------------------------------

NEW_KEY_INPUT = re.compile(r'id="new-key" type="text" value="([^"]+)"')


def test_the_dashboard_offers_every_scope_by_default_and_shows_each_keys(client, owner):
    client.force_login(owner)
    form = client.get("/keys/").content.decode()
    for scope in ALL_SCOPES:
        assert re.search(rf'<input type="checkbox" name="scopes" value="{scope}"[^>]*checked', form)

    page = client.post("/keys/new/", {"name": "reporting", "scopes": ["read"]}).content.decode()

    raw_key = NEW_KEY_INPUT.search(page).group(1)
    api_key = ApiKey.objects.get(name="reporting")
    assert api_key.scopes == ["read"]
    assert api_key.created_by_user == owner
    assert '<span class="badge">read</span>' in page
    assert f"by {owner.email}" in page
    assert ApiClient(raw_key).get("/api/v1/channels").status_code == 200
    assert ApiClient(raw_key).post_json("/api/v1/contacts", {}).status_code == 403


def test_the_dashboard_refuses_no_scope_and_the_key_cap(client, owner, account):
    client.force_login(owner)
    refused = client.post("/keys/new/", {"name": "none"})
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()

    set_caps(account, max_api_keys=1)
    assert client.post("/keys/new/", {"name": "a", "scopes": ["send"]}).status_code == 200
    capped = client.post("/keys/new/", {"name": "b", "scopes": ["send"]}).content.decode()
    assert "the most it may have" in capped
    assert not ApiKey.objects.filter(name="b").exists()
