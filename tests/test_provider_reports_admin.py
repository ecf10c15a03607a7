"""The admin's list of stored provider reports: read-only, filtered, and a reprocess action
through the same service as everything else (channels_app.callbacks.processing)."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from channels_app.callbacks import processing
from channels_app.models import Delivery, Message, ProviderReport
from tests.fakes_phones import AUTH_TOKEN

SID = "SM" + "b" * 32


@pytest.fixture
def dead_letter(account, sms_channel) -> ProviderReport:
    return ProviderReport.objects.create(
        account=account,
        channel=sms_channel,
        provider="twilio",
        provider_message_id=SID,
        reported_status="delivered",
        provider_status="delivered",
        dedup_key=f"{SID}:delivered:",
        payload={"MessageSid": SID, "MessageStatus": "delivered"},
        status=ProviderReport.Status.FAILED,
        error=f"No sms delivery of this account has the provider message id {SID!r}.",
        attempts=6,
        max_attempts=6,
    )


def staff(django_user_model, codenames: list[str]) -> Client:
    user = django_user_model.objects.create_user(
        email="staff@example.com", password="staff-horse-battery-9", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_lists_reports_read_only_with_filters(admin_client, dead_letter):
    listing = admin_client.get("/admin/channels_app/providerreport/?status=failed&provider=twilio")
    detail = admin_client.get(f"/admin/channels_app/providerreport/{dead_letter.pk}/change/")

    assert listing.status_code == 200
    assert dead_letter.pk in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="status"' not in detail.content.decode()  # shown, not editable
    assert admin_client.get("/admin/channels_app/providerreport/add/").status_code == 403
    assert AUTH_TOKEN not in detail.content.decode()


def test_reprocess_applies_a_dead_letter_once_its_delivery_exists(
    django_user_model, dead_letter, account
):
    message = Message.objects.create(account=account, recipient="+14155552671", body="hi")
    delivery = Delivery.objects.create(
        message=message,
        account=account,
        channel="sms",
        address="+14155552671",
        status="sent",
        attempts=1,
        provider_message_id=SID,
    )
    changer = staff(django_user_model, ["view_providerreport", "change_providerreport"])

    changer.post(
        "/admin/channels_app/providerreport/",
        {"action": "reprocess", "_selected_action": [dead_letter.pk]},
    )
    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.attempts, dead_letter.error) == ("pending", 0, "")
    processing.apply_now(dead_letter.pk)  # what its task does

    dead_letter.refresh_from_db()
    assert dead_letter.status == "applied"
    assert Delivery.objects.get(pk=delivery.pk).status == "delivered"


def test_view_only_staff_cannot_reprocess(django_user_model, dead_letter):
    viewer = staff(django_user_model, ["view_providerreport"])

    listing = viewer.get("/admin/channels_app/providerreport/")
    viewer.post(
        "/admin/channels_app/providerreport/",
        {"action": "reprocess", "_selected_action": [dead_letter.pk]},
    )

    assert 'value="reprocess"' not in listing.content.decode()
    dead_letter.refresh_from_db()
    assert dead_letter.status == "failed"
