"""The suppression list through the API (GET /api/v1/suppressions with filters and pages,
DELETE …/{id} to lift), the dashboard page (members read, owners and admins lift) and the
admin (a lift action): all three lift through channels_app.suppressions, and each sees
only its account's rows."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts import api_keys
from accounts.models import Membership
from channels_app.models import Suppression
from tests.conftest import ApiClient
from tests.fakes_phones import TO


@pytest.fixture
def listed(account, make_suppression) -> dict[str, Suppression]:
    """Three rows of `account`'s list, oldest first."""
    return {
        "bounce": make_suppression(
            account, "email", "jane@example.com", description="550 5.1.1 mailbox unknown"
        ),
        "stop": make_suppression(account, "sms", TO, reason="opt_out", description="21610"),
        "spam": make_suppression(account, "email", "john@example.com", reason="complaint"),
    }


@pytest.fixture
def elsewhere(make_account, make_suppression) -> Suppression:
    """A row of another account's list."""
    return make_suppression(make_account("Other"), "email", "jane@example.com")


def keyed(account, *scopes: str) -> ApiClient:
    _, raw = api_keys.issue_key(account, "scoped", scopes)
    return ApiClient(raw)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- API ------------------------------------------------------------------------------------


def test_the_list_is_the_accounts_newest_first_with_each_rows_fields(account, listed, elsewhere):
    response = keyed(account, "read").get("/api/v1/suppressions")

    assert ids(response) == [listed["spam"].pk, listed["stop"].pk, listed["bounce"].pk]
    bounce = response.json()["results"][2]
    assert bounce == {
        "id": listed["bounce"].pk,
        "livemode": True,
        "channel": "email",
        "address": "jane@example.com",
        "reason": "hard_bounce",
        "description": "550 5.1.1 mailbox unknown",
        "delivery_id": None,
        "created_at": bounce["created_at"],
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("channel=sms", ["stop"]),
        ("channel=email", ["spam", "bounce"]),
        ("address=JANE@Example.com", ["bounce"]),  # any case
        ("address=%2B1%20415%20555%200199", ["stop"]),  # "+1 415 555 0199": as E.164
        ("channel=sms&address=jane@example.com", []),
        ("reason=complaint", ["spam"]),
    ],
)
def test_the_list_filters_by_channel_address_and_reason(api, listed, elsewhere, query, expected):
    assert ids(api.get(f"/api/v1/suppressions?{query}")) == [listed[name].pk for name in expected]


def test_a_bad_filter_is_a_400_in_the_error_shape(api, listed):
    response = api.get("/api/v1/suppressions?channel=pigeon")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_the_list_is_paginated_by_cursor(api, listed):
    first = api.get("/api/v1/suppressions?limit=2")
    assert ids(first) == [listed["spam"].pk, listed["stop"].pk]

    second = api.get(first.json()["next"])
    assert ids(second) == [listed["bounce"].pk]
    assert second.json()["next"] is None


def test_reading_needs_the_read_scope(account, listed):
    assert keyed(account, "read").get("/api/v1/suppressions").status_code == 200
    refused = keyed(account, "send").get("/api/v1/suppressions")

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"


def test_an_admin_key_lifts_a_suppression(account, listed):
    response = keyed(account, "admin").delete(f"/api/v1/suppressions/{listed['bounce'].pk}")

    assert response.status_code == 204
    assert not Suppression.objects.filter(pk=listed["bounce"].pk).exists()
    assert Suppression.objects.filter(account=account).count() == 2


def test_lifting_needs_the_admin_scope(account, listed):
    response = keyed(account, "read", "send").delete(f"/api/v1/suppressions/{listed['stop'].pk}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert Suppression.objects.filter(pk=listed["stop"].pk).exists()


def test_another_accounts_suppression_is_not_found(api, listed, elsewhere):
    for response in (
        api.get(f"/api/v1/suppressions/{elsewhere.pk}"),
        api.delete(f"/api/v1/suppressions/{elsewhere.pk}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert Suppression.objects.filter(pk=elsewhere.pk).exists()


def test_the_openapi_document_describes_the_suppressions(client, db):
    document = client.get("/api/schema/?format=json").json()

    listing = document["paths"]["/api/v1/suppressions"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"channel", "address", "reason", "cursor"}
    assert listing["x-required-scopes"] == ["read"]
    lift = document["paths"]["/api/v1/suppressions/{id}"]["delete"]
    assert lift["x-required-scopes"] == ["admin"]
    assert {"204", "404"} <= set(lift["responses"])


# --- Dashboard ------------------------------------------------------------------------------


def test_the_page_lists_and_filters_the_accounts_suppressions(member_client, listed, elsewhere):
    page = member_client.get("/suppressions/?channel=email")

    assert page.status_code == 200
    html = page.content.decode()
    assert "jane@example.com" in html and "john@example.com" in html
    assert TO not in html
    assert elsewhere.pk not in html
    assert "550 5.1.1 mailbox unknown" in html
    by_address = member_client.get("/suppressions/?address=%2B1%20415%20555%200199")
    assert TO in by_address.content.decode()
    assert "jane@example.com" not in by_address.content.decode()


def test_a_member_sees_no_lift_button_and_cannot_lift(member_client, listed):
    page = member_client.get("/suppressions/")
    assert "/lift/" not in page.content.decode()

    response = member_client.post(f"/suppressions/{listed['bounce'].pk}/lift/")

    assert response.status_code == 403
    assert Suppression.objects.filter(pk=listed["bounce"].pk).exists()


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_owner_or_admin_lifts_from_the_page(owner_client, make_member, listed, role):
    client = owner_client
    if role == "admin":
        client = Client()
        client.force_login(make_member(Membership.Role.ADMIN).user)
    assert (
        f"/suppressions/{listed['bounce'].pk}/lift/"
        in client.get("/suppressions/").content.decode()
    )

    response = client.post(f"/suppressions/{listed['bounce'].pk}/lift/", follow=True)

    assert response.status_code == 200
    assert (
        "Lifted: the next email message to jane@example.com is sent." in response.content.decode()
    )
    assert not Suppression.objects.filter(pk=listed["bounce"].pk).exists()


def test_the_page_does_not_lift_another_accounts_suppression(owner_client, elsewhere):
    response = owner_client.post(f"/suppressions/{elsewhere.pk}/lift/")

    assert response.status_code == 404
    assert Suppression.objects.filter(pk=elsewhere.pk).exists()


def test_the_navigation_links_the_page(member_client):
    assert 'href="/suppressions/"' in member_client.get("/").content.decode()


# --- Admin ----------------------------------------------------------------------------------


def staff(django_user_model, codenames: list[str]) -> Client:
    user = django_user_model.objects.create_user(
        email="staff@example.com", password="staff-horse-battery-9", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_lists_every_accounts_suppressions_and_lifts_through_the_service(
    django_user_model, listed, elsewhere
):
    changer = staff(django_user_model, ["view_suppression", "change_suppression"])
    listing = changer.get("/admin/channels_app/suppression/?reason=hard_bounce")
    assert listing.status_code == 200
    assert listed["bounce"].pk in listing.content.decode()
    assert elsewhere.pk in listing.content.decode()
    assert listed["stop"].pk not in listing.content.decode()

    changer.post(
        "/admin/channels_app/suppression/",
        {"action": "lift", "_selected_action": [listed["bounce"].pk, elsewhere.pk]},
    )

    assert set(Suppression.objects.values_list("pk", flat=True)) == {
        listed["stop"].pk,
        listed["spam"].pk,
    }


def test_the_admin_neither_adds_nor_deletes_nor_lets_a_viewer_lift(
    admin_client, django_user_model, listed
):
    assert admin_client.get("/admin/channels_app/suppression/add/").status_code == 403
    delete = admin_client.get(f"/admin/channels_app/suppression/{listed['bounce'].pk}/delete/")
    assert delete.status_code == 403
    viewer = staff(django_user_model, ["view_suppression"])

    viewer.post(
        "/admin/channels_app/suppression/",
        {"action": "lift", "_selected_action": [listed["bounce"].pk]},
    )

    assert Suppression.objects.filter(pk=listed["bounce"].pk).exists()
