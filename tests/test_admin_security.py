"""The Django admin: who may run its actions, and how hard its login is to guess at."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import ApiKey
from channels_app.models import Delivery
from webhooks import events
from webhooks.models import InboundEndpoint, InboundEvent, WebhookDelivery, WebhookEndpoint
from webhooks.signing import new_secret

STAFF_PASSWORD = "staff-horse-battery-9"


def staff_client(django_user_model, codenames: list[str], email: str) -> Client:
    user = django_user_model.objects.create_user(
        email=email, password=STAFF_PASSWORD, is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_every_admin_action_that_changes_state_asks_for_a_permission():
    """Present and future: an action without `permissions` runs for anyone who may view
    the list, so every action but Django's own delete (which asks for delete) names one."""
    unguarded = [
        f"{model._meta.label}.{name}"
        for model, model_admin in admin.site._registry.items()
        for action in model_admin.actions or ()
        for name in [action if isinstance(action, str) else action.__name__]
        if not getattr(getattr(model_admin, name, action), "allowed_permissions", None)
    ]
    assert unguarded == []


@pytest.fixture
def rows(account, api, channels, owner):
    """One row for each admin action, in the state the action would change."""
    accepted = api.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["slack"], "recipient": "ops"}
    ).json()
    delivery_id = accepted["deliveries"][0]["id"]
    Delivery.objects.filter(pk=delivery_id).update(status="failed", last_error="Slack said no")
    endpoint = WebhookEndpoint.objects.create(
        account=account, url="https://example.com/hooks", secret=new_secret(), enabled=False
    )
    event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
    WebhookDelivery.objects.filter(event=event).update(status="failed", attempts=8)
    inbound = InboundEndpoint.objects.create(
        account=account, name="Shop", verification="none", token="t1", token_hash="h1"
    )
    inbound_event = InboundEvent.objects.create(
        account=account, endpoint=inbound, dedup_key="k1", body=b"{}", status="failed"
    )
    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    return {
        "periodic_task": PeriodicTask.objects.create(
            name="paused", task="oneping.nothing", interval=every_minute, enabled=False
        ),
        "email_address": EmailAddress.objects.create(
            user=owner, email="second@example.com", verified=False
        ),
        "delivery": Delivery.objects.get(pk=delivery_id),
        "endpoint": endpoint,
        "webhook": WebhookDelivery.objects.get(event=event),
        "inbound": inbound,
        "inbound_event": inbound_event,
        "api_key": ApiKey.objects.get(account=account),
    }


# (changelist, action, row, the row's fields that must not change)
ACTIONS = [
    ("channels_app/delivery", "reprocess", "delivery", ["status"]),
    ("webhooks/webhookdelivery", "reprocess", "webhook", ["status"]),
    ("webhooks/inboundevent", "reprocess", "inbound_event", ["status"]),
    ("webhooks/webhookendpoint", "enable", "endpoint", ["enabled"]),
    ("webhooks/inboundendpoint", "disable", "inbound", ["enabled"]),
    ("accounts/apikey", "revoke", "api_key", ["revoked_at"]),
    # Third-party actions, given the same requirement at startup (oneping/admin_actions.py).
    ("django_celery_beat/periodictask", "enable_tasks", "periodic_task", ["enabled"]),
    ("account/emailaddress", "make_verified", "email_address", ["verified"]),
]
VIEW_ONLY = [
    "view_delivery",
    "view_webhookdelivery",
    "view_inboundevent",
    "view_webhookendpoint",
    "view_inboundendpoint",
    "view_apikey",
    "view_periodictask",
    "view_emailaddress",
]


@pytest.mark.parametrize(("changelist", "action", "key", "fields"), ACTIONS)
def test_view_only_staff_cannot_run_actions_that_change_state(
    rows, django_user_model, changelist, action, key, fields
):
    viewer = staff_client(django_user_model, VIEW_ONLY, "viewer@example.com")
    row = rows[key]
    before = {field: getattr(row, field) for field in fields}

    listing = viewer.get(f"/admin/{changelist}/")
    response = viewer.post(
        f"/admin/{changelist}/", {"action": action, "_selected_action": [row.pk]}, follow=True
    )

    assert listing.status_code == 200  # they may look
    assert f'value="{action}"' not in listing.content.decode()  # the action is not offered
    assert response.status_code == 200
    row.refresh_from_db()
    assert {field: getattr(row, field) for field in fields} == before


@pytest.mark.parametrize(("changelist", "action", "key", "fields"), ACTIONS)
def test_staff_with_the_change_permission_can_run_them(
    rows, django_user_model, changelist, action, key, fields
):
    changer = staff_client(
        django_user_model,
        VIEW_ONLY + [codename.replace("view_", "change_") for codename in VIEW_ONLY],
        "changer@example.com",
    )
    row = rows[key]
    before = {field: getattr(row, field) for field in fields}

    changer.post(f"/admin/{changelist}/", {"action": action, "_selected_action": [row.pk]})

    row.refresh_from_db()
    assert {field: getattr(row, field) for field in fields} != before


def test_the_admin_login_is_throttled_like_the_dashboard_login(db, django_user_model):
    """Guessing at /admin/login/ checks no password at all: staff log in through allauth's
    form, which refuses even the right password after 5 failures for the address."""
    cache.clear()  # rate-limit counters of earlier tests from this address
    django_user_model.objects.create_user(
        email="staff@example.com", password=STAFF_PASSWORD, is_staff=True
    )
    guesser = Client()

    for guess in ["123456", "password", "letmein", "staff", "admin", "qwerty"]:
        answer = guesser.post("/admin/login/", {"username": "staff@example.com", "password": guess})
        assert answer.status_code == 302
        assert answer["Location"].startswith("/accounts/login/")
    # Not even the right password is taken there.
    guesser.post("/admin/login/", {"username": "staff@example.com", "password": STAFF_PASSWORD})
    assert guesser.get("/admin/").status_code == 302

    for guess in ["123456", "password", "letmein", "staff", "admin"]:
        answer = guesser.post(
            "/accounts/login/?next=/admin/", {"login": "staff@example.com", "password": guess}
        )
        assert answer.status_code == 200  # the form again, with its error
    throttled = guesser.post(
        "/accounts/login/?next=/admin/", {"login": "staff@example.com", "password": STAFF_PASSWORD}
    )
    assert "Too many failed login attempts" in throttled.content.decode()
    assert guesser.get("/admin/").status_code == 302

    cache.clear()  # the lockout has passed
    staff = Client()
    logged_in = staff.post(
        "/accounts/login/?next=/admin/",
        {"login": "staff@example.com", "password": STAFF_PASSWORD},
        follow=True,
    )
    assert logged_in.redirect_chain[-1][0] == "/admin/"
    assert logged_in.status_code == 200


def test_a_signed_in_user_who_is_not_staff_gets_no_admin_login(client, owner):
    client.force_login(owner)
    assert client.get("/admin/login/").status_code == 403
