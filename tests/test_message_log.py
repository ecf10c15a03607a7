"""GET /api/v1/messages: the delivery log."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_app import delivery as delivery_service
from channels_app.models import Message
from tests.conftest import send


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["id"] for m in response.json()["results"]]


def test_log_lists_newest_first_with_cursor_pages(api, channels):
    sent = [send(api, message=f"m{n}")["id"] for n in range(5)]

    first = api.get("/api/v1/messages?limit=3")
    assert ids(first) == sent[::-1][:3]
    second = api.get(first.json()["next"])
    assert ids(second) == sent[::-1][3:]
    assert second.json()["next"] is None


def test_log_filters(api, channels, slack):
    delivered = send(api, recipient="ops")["id"]
    queued = send(api, channels=["telegram"], recipient="4242")["id"]
    delivery_service.attempt(Message.objects.get(pk=delivered).deliveries.get().pk)
    Message.objects.filter(pk=queued).update(created_at=timezone.now() - timedelta(days=3))

    assert ids(api.get("/api/v1/messages?status=delivered")) == [delivered]
    assert ids(api.get("/api/v1/messages?status=queued")) == [queued]
    assert ids(api.get("/api/v1/messages?channel=telegram")) == [queued]
    assert ids(api.get("/api/v1/messages?recipient=4242")) == [queued]
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(api.get("/api/v1/messages", {"created_after": since})) == [delivered]
    assert ids(api.get("/api/v1/messages", {"created_before": since})) == [queued]


def test_bad_filter_values_are_400(api, channels):
    for query in ("status=lost", "channel=fax", "created_after=yesterday"):
        response = api.get(f"/api/v1/messages?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "validation_error"


def test_a_page_costs_a_constant_number_of_queries(api, channels):
    def queries_for_one_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/messages").status_code == 200
        return len(captured)

    for n in range(3):
        send(api, message=f"m{n}", channels=["slack", "discord"])
    few = queries_for_one_page()
    for n in range(20):
        send(api, message=f"more{n}", channels=["slack", "discord"])

    assert queries_for_one_page() == few <= 4  # key, messages, their deliveries


def test_message_detail_shows_deliveries_and_their_timeline(api, channels, slack):
    body = send(api, "hello", metadata={"order": 7})
    delivery_service.attempt(body["deliveries"][0]["id"])

    detail = api.get(f"/api/v1/messages/{body['id']}").json()

    assert detail["status"] == "delivered"
    assert detail["metadata"] == {"order": 7}
    assert detail["message"] == "hello"
    [delivery] = detail["deliveries"]
    assert delivery["channel"] == "slack"
    assert delivery["address"] == "channel webhook"
    assert delivery["attempts"] == 1
    assert delivery["last_error"] == ""
    assert [step["status"] for step in delivery["timeline"]] == ["queued", "sending", "delivered"]
    assert delivery["timeline"][-1]["attempt"] == 1
    assert "HTTP 200" in delivery["timeline"][-1]["detail"]


def test_another_accounts_messages_are_404(api, channels, make_account, make_api_client):
    message_id = send(api)["id"]
    stranger = make_api_client(make_account("Stranger"))

    assert stranger.get(f"/api/v1/messages/{message_id}").status_code == 404
    assert ids(stranger.get("/api/v1/messages")) == []
    delivery_id = Message.objects.get().deliveries.get().pk
    assert stranger.get(f"/api/v1/deliveries/{delivery_id}").status_code == 404
    assert stranger.post_json(f"/api/v1/deliveries/{delivery_id}/retry").status_code == 404
