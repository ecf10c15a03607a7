"""Dashboard: webhook endpoints, inbound endpoints (with a curl example that really
verifies) and the dead-letter page."""

import html
import json
import re
import subprocess
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_app.models import Delivery
from tests.fakes import Canned
from tests.inbound_helpers import hmac_headers
from webhooks import events, sending
from webhooks.inbound import processing
from webhooks.models import (
    Event,
    InboundEndpoint,
    InboundEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from webhooks.signing import new_secret


@pytest.fixture
def receiver(receiver):
    """tests/conftest.py's receiver, answering "ok": the attempts log shows that excerpt."""
    receiver.default = Canned(200, "ok")
    return receiver


def make_endpoint(account, url="https://example.com/hooks", **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(account=account, url=url, secret=new_secret(), **fields)


def make_inbound(client, **fields) -> InboundEndpoint:
    response = client.post("/inbound/new/", {"name": "hook", **fields})
    assert response.status_code == 302, response.content.decode()
    return InboundEndpoint.objects.get(pk=response["Location"].strip("/").split("/")[-1])


def page_text(response) -> str:
    return html.unescape(response.content.decode())


# --- Outgoing webhook endpoints -------------------------------------------------------


def test_create_an_endpoint_with_the_form(owner_client, account, receiver):
    response = owner_client.post(
        "/webhooks/new/",
        {
            "url": f"{receiver.url}/hooks",
            "description": "ops",
            "event_types": ["message.failed", "message.delivered"],
        },
    )

    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(account=account)
    assert endpoint.event_types == ["message.delivered", "message.failed"]
    assert endpoint.secret.startswith("whsec_")
    listing = page_text(owner_client.get("/webhooks/"))
    assert f"{receiver.url}/hooks" in listing
    assert "message.failed" in listing
    assert "enabled" in listing
    assert endpoint.secret not in listing  # only revealed on request


def test_an_endpoint_without_event_types_is_listed_as_all(owner_client, account):
    make_endpoint(account)

    listing = page_text(owner_client.get("/webhooks/"))

    assert re.search(r'<span class="muted">all</span>', listing)


def test_a_private_url_is_refused_next_to_the_field(owner_client, account, settings):
    settings.ONEPING_ALLOW_PRIVATE_URLS = False

    response = owner_client.post("/webhooks/new/", {"url": "http://127.0.0.1:9000/x"})

    assert response.status_code == 200
    assert "resolves to 127.0.0.1, a private, loopback" in page_text(response)
    assert 'class="field has-error"' in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_edit_an_endpoint_keeps_its_secret(owner_client, account):
    endpoint = make_endpoint(account)
    secret = endpoint.secret

    owner_client.post(
        f"/webhooks/{endpoint.pk}/edit/",
        {"url": "https://example.org/new", "event_types": ["webhook.test"]},
    )

    endpoint.refresh_from_db()
    assert endpoint.url == "https://example.org/new"
    assert endpoint.event_types == ["webhook.test"]
    assert endpoint.secret == secret


def test_disable_then_enable_clears_the_failures_and_resumes(owner_client, account, owner):
    endpoint = make_endpoint(account)
    event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
    WebhookDelivery.objects.update(
        status="retrying", next_attempt_at=timezone.now() + timedelta(hours=5)
    )

    owner_client.post(f"/webhooks/{endpoint.pk}/toggle/", {"enabled": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert owner.email in endpoint.disabled_reason
    assert owner.email in page_text(owner_client.get("/webhooks/"))

    WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(days=1))
    owner_client.post(f"/webhooks/{endpoint.pk}/toggle/", {"enabled": "1"})

    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.disabled_reason == ""
    assert endpoint.failing_since is None
    waiting = WebhookDelivery.objects.get(event=event)
    assert waiting.status == "pending"  # enabling sends what was kept waiting
    assert waiting.next_attempt_at is None


def test_reveal_and_rotate_the_secret(owner_client, account):
    endpoint = make_endpoint(account)
    old = endpoint.secret

    assert owner_client.get(f"/webhooks/{endpoint.pk}/secret/").status_code == 405
    revealed = page_text(owner_client.post(f"/webhooks/{endpoint.pk}/secret/"))
    assert f'value="{old}"' in revealed
    assert 'data-copy="endpoint-secret"' in revealed

    rotated = page_text(owner_client.post(f"/webhooks/{endpoint.pk}/rotate-secret/"))

    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret.startswith("whsec_")
    assert f'value="{endpoint.secret}"' in rotated
    assert endpoint.previous_secret == old
    remaining = endpoint.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=23) < remaining <= timedelta(hours=24)


def test_members_may_send_a_test_event(member_client, account):
    endpoint = make_endpoint(account)

    response = member_client.post(f"/webhooks/{endpoint.pk}/test/")

    assert response.status_code == 302
    delivery = WebhookDelivery.objects.select_related("event").get(endpoint=endpoint)
    assert delivery.event.type == "webhook.test"
    assert delivery.status == "pending"


def test_a_disabled_endpoint_gets_no_test_event(owner_client, account):
    endpoint = make_endpoint(account, enabled=False)

    response = owner_client.post(f"/webhooks/{endpoint.pk}/test/", follow=True)

    assert "enable it before sending a test" in page_text(response)
    assert not WebhookDelivery.objects.exists()


def test_the_attempts_log_shows_a_real_attempt(owner_client, account, receiver):
    endpoint = make_endpoint(account, url=f"{receiver.url}/hooks")
    owner_client.post(f"/webhooks/{endpoint.pk}/test/")
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    sending.attempt(delivery.pk)

    assert len(receiver.requests) == 1
    attempt = WebhookAttempt.objects.get(endpoint=endpoint)
    page = page_text(owner_client.get(f"/webhooks/{endpoint.pk}/"))
    assert delivery.event_id in page
    assert "webhook.test" in page
    assert '<span class="badge badge-succeeded">200</span>' in page
    assert f"{attempt.duration_ms} ms" in page
    assert "<details>" in page
    assert "webhook-signature: v1," in page  # the request headers, expandable
    assert "ok" in page.split("Response body (excerpt)", 1)[1]


def test_replay_an_event_and_recover_failed_deliveries(owner_client, account, make_account):
    endpoint = make_endpoint(account)
    event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
    WebhookDelivery.objects.update(status="succeeded", attempts=1)

    owner_client.post(f"/webhooks/{endpoint.pk}/replay/", {"event_id": event.pk})

    delivery = WebhookDelivery.objects.get(event=event)
    assert (delivery.status, delivery.trigger) == ("pending", "manual")

    WebhookDelivery.objects.update(status="failed")
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = owner_client.post(f"/webhooks/{endpoint.pk}/recover/", {"since": since}, follow=True)
    assert "Queued 1 failed deliveries" in page_text(response)
    assert WebhookDelivery.objects.get(event=event).status == "pending"

    # Another account's event is not replayed to this endpoint.
    theirs = events.create_event(make_account("Other"), events.TEST_EVENT, {}, endpoints=[])
    response = owner_client.post(
        f"/webhooks/{endpoint.pk}/replay/", {"event_id": theirs.pk}, follow=True
    )
    assert "No such event in this account." in page_text(response)
    assert not WebhookDelivery.objects.filter(event=theirs).exists()


# --- Inbound endpoints ----------------------------------------------------------------


def test_create_an_inbound_endpoint_with_a_preset(owner_client, account, channels):
    response = owner_client.post(
        "/inbound/new/",
        {
            "name": "Shop orders",
            "preset": "shopify-orders",
            "secret": "shpss_demo",
            "preset_channels": ["slack"],
            "preset_recipient": "sales",
        },
    )

    assert response.status_code == 302
    endpoint = InboundEndpoint.objects.get(account=account)
    assert endpoint.verification == "shopify"
    assert endpoint.secret == "shpss_demo"
    assert [rule["event"] for rule in endpoint.rules] == ["orders/create"]
    assert endpoint.rules[0]["channels"] == ["slack"]
    assert endpoint.rules[0]["recipient"] == "sales"
    listing = page_text(owner_client.get("/inbound/"))
    assert f"http://testserver/hooks/in/{endpoint.token}" in listing
    assert "Shop orders" in listing


def test_inbound_serializer_errors_show_next_to_their_fields(owner_client, account):
    # No channel is configured, and shopify needs a secret.
    response = owner_client.post(
        "/inbound/new/", {"name": "Shop", "preset": "shopify-orders", "preset_channels": ["slack"]}
    )
    assert "The shopify verification needs the sender's secret." in page_text(response)

    response = owner_client.post(
        "/inbound/new/",
        {"name": "Shop", "preset": "shopify-orders", "secret": "s", "preset_channels": ["slack"]},
    )
    text = page_text(response)
    assert "The slack channel is not configured for this account." in text
    field = text.split('for="id_preset_channels_0"', 1)[0].rsplit('<div class="field', 1)[1]
    assert "has-error" in field

    response = owner_client.post(
        "/inbound/new/", {"name": "Own", "verification": "none", "rules": "[{oops"}
    )
    assert "Not valid JSON" in page_text(response)

    response = owner_client.post(
        "/inbound/new/", {"name": "Own", "verification": "none", "rules": '[{"event": "*"}]'}
    )
    assert "rules[0].message: This field is required." in page_text(response)
    assert not InboundEndpoint.objects.exists()


def curl_snippet(page: str) -> str:
    match = re.search(r'<pre id="curl-example">(.*?)</pre>', page, re.S)
    assert match, "no curl example on the page"
    return html.unescape(match.group(1))


@pytest.mark.parametrize(
    ("verification", "secret", "extra"),
    [
        ("hmac_sha256", "my 'quoted' secret", {"signature_header": "X-Signature"}),
        ("shopify", "shpss_demo_secret", {}),
        ("github", "gh-secret", {}),
        ("stripe", "whsec_stripe", {}),
        ("standard_webhooks", new_secret(), {}),
        ("none", "", {}),
    ],
)
def test_the_curl_example_really_verifies(
    live_server, owner_client, account, verification, secret, extra
):
    endpoint = make_inbound(
        owner_client, verification=verification, secret=secret, rules="", **extra
    )
    host = urlsplit(live_server.url).netloc
    page = owner_client.get(f"/inbound/{endpoint.pk}/", HTTP_HOST=host).content.decode()
    snippet = curl_snippet(page)
    assert live_server.url in snippet

    answer = run_snippet(snippet)

    assert answer["received"] is True, answer
    assert InboundEvent.objects.filter(endpoint=endpoint).count() == 1
    endpoint.refresh_from_db()
    assert endpoint.failed_verifications == 0


def run_snippet(snippet: str) -> dict:
    result = subprocess.run(
        ["bash", "-c", snippet], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("preset", ["shopify-orders", "github", "stripe-payments", "generic"])
def test_the_curl_example_of_a_preset_becomes_a_message(
    live_server, owner_client, account, channels, preset
):
    endpoint = make_inbound(
        owner_client,
        preset=preset,
        secret="preset-secret",
        preset_channels=["slack"],
        preset_recipient="team",
    )
    host = urlsplit(live_server.url).netloc
    page = owner_client.get(f"/inbound/{endpoint.pk}/", HTTP_HOST=host).content.decode()

    answer = run_snippet(curl_snippet(page))

    processing.process(answer["id"])
    event = InboundEvent.objects.get(pk=answer["id"])
    assert (event.status, event.error) == ("processed", "")
    assert event.message_id


def test_members_see_the_curl_example_without_the_secret(owner_client, member_client, account):
    endpoint = make_inbound(owner_client, verification="shopify", secret="shpss_topsecret")

    page = page_text(member_client.get(f"/inbound/{endpoint.pk}/"))

    assert "shpss_topsecret" not in page
    assert "SECRET=YOUR_SECRET" in page
    assert "shpss_topsecret" in page_text(owner_client.get(f"/inbound/{endpoint.pk}/"))


def test_received_events_and_the_payload_viewer(owner_client, account, channels, slack):
    rules = [{"event": "*", "message": "{{ message }}", "channels": ["slack"], "recipient": "ops"}]
    endpoint = make_inbound(
        owner_client, verification="hmac_sha256", secret="s3cret", rules=json.dumps(rules)
    )
    body = json.dumps({"event": "disk.full", "message": "Disk full", "host": {"name": "db1"}})
    answer = Client().post(
        f"/hooks/in/{endpoint.token}",
        body,
        content_type="application/json",
        **hmac_headers("s3cret", body.encode()),
    )
    assert answer.status_code == 200, answer.content
    event = InboundEvent.objects.get(endpoint=endpoint)
    processing.process(event.pk)
    event.refresh_from_db()
    assert event.status == "processed"

    page = page_text(owner_client.get(f"/inbound/{endpoint.pk}/"))
    assert "disk.full" in page
    assert '<span class="badge badge-processed">processed</span>' in page
    assert f'href="/messages/{event.message_id}/"' in page

    viewer = page_text(owner_client.get(f"/inbound/{endpoint.pk}/events/{event.pk}/"))
    assert '{\n  "event": "disk.full",' in viewer  # pretty-printed JSON
    assert '"host": {\n    "name": "db1"\n  }' in viewer
    assert "X-Webhook-Signature: sha256=" in viewer


def test_disable_and_delete_an_inbound_endpoint(owner_client, account):
    endpoint = make_inbound(owner_client, verification="none")

    owner_client.post(f"/inbound/{endpoint.pk}/toggle/", {"enabled": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert Client().post(f"/hooks/in/{endpoint.token}", "{}", "application/json").status_code == 404

    owner_client.post(f"/inbound/{endpoint.pk}/toggle/", {"enabled": "1"})
    endpoint.refresh_from_db()
    assert endpoint.enabled

    owner_client.post(f"/inbound/{endpoint.pk}/delete/")
    assert not InboundEndpoint.objects.exists()


# --- Dead letters ---------------------------------------------------------------------


@pytest.fixture
def dead_letters(account, api, channels):
    """One failed row of each kind, made the way production makes them."""
    accepted = api.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["slack"], "recipient": "ops"}
    ).json()
    Delivery.objects.filter(pk=accepted["deliveries"][0]["id"]).update(
        status="failed", last_error="Slack said no"
    )
    endpoint = make_endpoint(account, url="https://example.com/failing")
    event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
    WebhookDelivery.objects.filter(event=event).update(
        status="failed", last_status_code=500, last_error="The receiver answered 500.", attempts=8
    )
    inbound = InboundEndpoint.objects.create(
        account=account, name="Shop", verification="none", token="t1", token_hash="h1"
    )
    InboundEvent.objects.create(
        account=account,
        endpoint=inbound,
        event_type="orders/create",
        dedup_key="k1",
        body=b"{}",
        status="failed",
        error="template variable 'order_number' is undefined",
    )
    return {
        "delivery": Delivery.objects.get(pk=accepted["deliveries"][0]["id"]),
        "webhook": WebhookDelivery.objects.get(event=event),
        "inbound": InboundEvent.objects.get(endpoint=inbound),
    }


def test_the_failed_page_lists_all_three_kinds(owner_client, dead_letters):
    page = page_text(owner_client.get("/failed/"))

    delivery = dead_letters["delivery"]
    assert f'href="/messages/{delivery.message_id}/"' in page
    assert "Slack said no" in page
    assert "https://example.com/failing" in page
    assert "The receiver answered 500." in page
    assert "orders/create" in page
    assert "template variable 'order_number' is undefined" in page
    assert page.count("Reprocess all") == 3


@pytest.mark.parametrize(
    ("kind", "key", "queued_status"),
    [
        ("deliveries", "delivery", "queued"),
        ("webhooks", "webhook", "pending"),
        ("inbound", "inbound", "received"),
    ],
)
def test_reprocess_all_queues_each_kind(owner_client, dead_letters, kind, key, queued_status):
    response = owner_client.post("/failed/reprocess/", {"kind": kind, "action": "all"}, follow=True)

    assert "Queued 1 for reprocessing." in page_text(response)
    row = dead_letters[key]
    row.refresh_from_db()
    assert row.status == queued_status


def test_reprocess_selected_and_one_row(owner_client, dead_letters, account):
    inbound = dead_letters["inbound"]
    second = InboundEvent.objects.create(
        account=account, endpoint=inbound.endpoint, dedup_key="k2", body=b"{}", status="failed"
    )

    owner_client.post(
        "/failed/reprocess/", {"kind": "inbound", "action": "selected", "ids": [second.pk]}
    )
    second.refresh_from_db()
    inbound.refresh_from_db()
    assert (second.status, inbound.status) == ("received", "failed")

    owner_client.post("/failed/reprocess/", {"kind": "webhooks", "one": dead_letters["webhook"].pk})
    assert WebhookDelivery.objects.get(pk=dead_letters["webhook"].pk).status == "pending"
    assert InboundEvent.objects.get(pk=inbound.pk).status == "failed"


def test_rows_that_are_no_longer_failed_are_skipped(owner_client, dead_letters):
    Delivery.objects.filter(pk=dead_letters["delivery"].pk).update(status="delivered")

    response = owner_client.post(
        "/failed/reprocess/",
        {"kind": "deliveries", "one": dead_letters["delivery"].pk},
        follow=True,
    )

    assert "Nothing was queued" in page_text(response)
    assert Delivery.objects.get(pk=dead_letters["delivery"].pk).status == "delivered"


def test_members_see_dead_letters_but_may_not_reprocess(member_client, dead_letters):
    page = page_text(member_client.get("/failed/"))
    assert "Slack said no" in page
    assert "Reprocess all" not in page
    assert 'name="ids"' not in page

    response = member_client.post("/failed/reprocess/", {"kind": "inbound", "action": "all"})

    assert response.status_code == 403
    dead_letters["inbound"].refresh_from_db()
    assert dead_letters["inbound"].status == "failed"


# --- Roles and tenancy ----------------------------------------------------------------


def test_members_may_not_change_endpoints(member_client, account):
    endpoint = make_endpoint(account)

    assert member_client.get("/webhooks/").status_code == 200
    assert "New endpoint" not in member_client.get("/webhooks/").content.decode()
    assert member_client.post("/webhooks/new/", {"url": "https://example.com/x"}).status_code == 403
    assert (
        member_client.post("/inbound/new/", {"name": "x", "verification": "none"}).status_code
        == 403
    )
    assert (
        member_client.post(f"/webhooks/{endpoint.pk}/toggle/", {"enabled": "0"}).status_code == 403
    )
    assert member_client.post(f"/webhooks/{endpoint.pk}/secret/").status_code == 403
    assert member_client.post(f"/webhooks/{endpoint.pk}/rotate-secret/").status_code == 403
    assert WebhookEndpoint.objects.count() == 1
    assert not InboundEndpoint.objects.exists()
    assert WebhookEndpoint.objects.get().enabled


def test_another_accounts_ids_are_404_or_ignored(owner_client, make_account):
    other = make_account("Other")
    endpoint = make_endpoint(other)
    inbound = InboundEndpoint.objects.create(
        account=other, name="Theirs", verification="none", token="t9", token_hash="h9"
    )
    event = InboundEvent.objects.create(
        account=other, endpoint=inbound, dedup_key="k", body=b"{}", status="failed"
    )

    for path in ("", "edit/"):
        assert owner_client.get(f"/webhooks/{endpoint.pk}/{path}").status_code == 404
    for path in ("toggle/", "delete/", "secret/", "rotate-secret/", "test/", "replay/", "recover/"):
        assert owner_client.post(f"/webhooks/{endpoint.pk}/{path}").status_code == 404
    assert owner_client.get(f"/inbound/{inbound.pk}/").status_code == 404
    assert owner_client.get(f"/inbound/{inbound.pk}/events/{event.pk}/").status_code == 404
    assert owner_client.post(f"/inbound/{inbound.pk}/toggle/").status_code == 404
    assert owner_client.post(f"/inbound/{inbound.pk}/delete/").status_code == 404
    owner_client.post("/failed/reprocess/", {"kind": "inbound", "one": event.pk})
    owner_client.post("/failed/reprocess/", {"kind": "inbound", "action": "all"})

    event.refresh_from_db()
    assert event.status == "failed"
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()
    assert InboundEndpoint.objects.filter(pk=inbound.pk, enabled=True).exists()
    assert not Event.objects.filter(account=other).exists()


# --- Query counts ---------------------------------------------------------------------


def count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def add_rows(account, endpoint, inbound, n: int) -> None:
    for _ in range(n):
        event = events.create_event(account, events.TEST_EVENT, {}, endpoints=[endpoint])
        WebhookAttempt.objects.create(
            webhook_delivery=WebhookDelivery.objects.get(event=event),
            endpoint=endpoint,
            event=event,
            url=endpoint.url,
            status_code=500,
            trigger="scheduled",
        )
        InboundEvent.objects.create(
            account=account,
            endpoint=inbound,
            dedup_key=f"bulk-{event.pk}",
            body=b"{}",
            status="failed",
        )
        make_endpoint(account)
        InboundEndpoint.objects.create(
            account=account,
            name="more",
            verification="none",
            token=event.pk,
            token_hash=event.pk,
        )
    WebhookDelivery.objects.update(status="failed")


def test_list_pages_take_a_constant_number_of_queries(
    owner_client, account, dead_letters, django_assert_max_num_queries
):
    endpoint = dead_letters["webhook"].endpoint
    inbound = dead_letters["inbound"].endpoint
    paths = ["/failed/", "/webhooks/", "/inbound/", f"/webhooks/{endpoint.pk}/"]
    paths.append(f"/inbound/{inbound.pk}/")
    add_rows(account, endpoint, inbound, 1)
    owner_client.get("/failed/")  # the first request stores the account in the session
    before = {path: count_queries(owner_client, path) for path in paths}

    add_rows(account, endpoint, inbound, 6)
    Delivery.objects.update(status="failed")

    assert {path: count_queries(owner_client, path) for path in paths} == before
    with django_assert_max_num_queries(before["/failed/"]):
        owner_client.get("/failed/")
