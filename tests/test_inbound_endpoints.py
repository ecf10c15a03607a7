"""The inbound endpoint services (webhooks.inbound.endpoints) behind the API, the dashboard
and the admin alike."""

import pytest
from django.db.models import F
from django.test import Client

from webhooks.inbound import endpoints
from webhooks.inbound.serializers import InboundEndpointSerializer
from webhooks.models import InboundEndpoint


@pytest.fixture
def endpoint(account) -> InboundEndpoint:
    return endpoints.create(account, name="hook", verification="none", rules=[])


def test_the_admin_disables_and_enables_through_the_service(admin_client, endpoint):
    before = endpoint.updated_at

    admin_client.post(
        "/admin/webhooks/inboundendpoint/",
        {"action": "disable", "_selected_action": [endpoint.pk]},
    )

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.updated_at > before  # queryset.update() used to leave it
    assert Client().post(f"/hooks/in/{endpoint.token}", "{}", "application/json").status_code == 404

    admin_client.post(
        "/admin/webhooks/inboundendpoint/",
        {"action": "enable", "_selected_action": [endpoint.pk]},
    )

    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert Client().post(f"/hooks/in/{endpoint.token}", "{}", "application/json").status_code == 200


def test_an_update_keeps_failures_counted_since_the_endpoint_was_read(api, endpoint):
    # Receiving counts a failed verification while the API request holds the old row.
    stale = InboundEndpoint.objects.get(pk=endpoint.pk)
    InboundEndpoint.objects.filter(pk=endpoint.pk).update(
        failed_verifications=F("failed_verifications") + 1
    )

    endpoints.update(stale, name="renamed")

    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.failed_verifications) == ("renamed", 1)


def test_the_api_updates_and_deletes_through_the_service(api, endpoint, monkeypatch):
    called = []
    monkeypatch.setattr(endpoints, "update", lambda e, **f: called.append(f) or e)
    monkeypatch.setattr(endpoints, "delete", lambda e: called.append("delete"))
    path = f"/api/v1/inbound-endpoints/{endpoint.pk}"

    assert api.patch(path, {"enabled": False}, content_type="application/json").status_code == 200
    assert api.delete(path).status_code == 204

    assert called == [{"enabled": False}, "delete"]


def test_the_serializer_validates_but_does_not_save(rf, account, endpoint):
    request = rf.post("/")
    request.account = account
    serializer = InboundEndpointSerializer(
        endpoint, data={"name": "x"}, partial=True, context={"request": request}
    )
    assert serializer.is_valid(), serializer.errors

    with pytest.raises(NotImplementedError):
        serializer.save()
