"""Inbound events become notifications: one test per real-looking provider payload, rules,
templates in the sandbox, failures as dead letters, reprocessing."""

import pytest
from django.test import Client

from accounts.models import MonthlyUsage
from accounts.usage import billing_period
from channels_app import delivery as delivery_service
from channels_app.models import Delivery, Message
from tests.conftest import unpaced
from tests.inbound_helpers import (
    as_json,
    fixture,
    github_headers,
    hmac_headers,
    shopify_headers,
    stripe_headers,
)
from webhooks.inbound import processing
from webhooks.models import InboundEvent


@pytest.fixture
def channels(channels):
    # Rules making several messages to one webhook, sent at once by hand: their subject is
    # which rules fire, not pacing (tests/conftest.py unpaced).
    unpaced(*channels.values())
    return channels


def create_endpoint(api, **fields) -> dict:
    response = api.post_json("/api/v1/inbound-endpoints", {"name": "hook", **fields})
    assert response.status_code == 201, response.content
    return response.json()


def post(endpoint: dict, body: bytes, content_type="application/json", **headers):
    response = Client().post(
        endpoint["url"].split("testserver", 1)[-1], body, content_type=content_type, **headers
    )
    assert response.status_code == 200, response.content
    return response.json()


def process_all() -> None:
    for pk in InboundEvent.objects.filter(status="received").values_list("pk", flat=True):
        processing.process(pk)
    for pk in Delivery.objects.filter(status="queued").values_list("pk", flat=True):
        delivery_service.attempt(pk)


def test_shopify_order_reaches_slack(api, channels, slack):
    secret = "shpss_abc"
    endpoint = create_endpoint(
        api,
        verification="shopify",
        secret=secret,
        rules=[
            {
                "event": "orders/create",
                "message": "New order #{{ order_number }}: ${{ total_price }} "
                "from {{ customer.first_name }}",
                "channels": ["slack"],
                "recipient": "sales-channel",
            }
        ],
    )
    body = fixture("shopify_orders_create.json")
    post(endpoint, body, **shopify_headers(secret, body, "orders/create", "w-1"))

    process_all()

    assert slack.requests[0].json() == {"text": "New order #1234: $403.00 from John"}
    event = InboundEvent.objects.get()
    assert event.status == "processed"
    assert event.message.recipient == "sales-channel"
    listed = api.get("/api/v1/inbound-events").json()["results"][0]
    assert listed["message_id"] == event.message_id
    assert listed["event_type"] == "orders/create"


@pytest.mark.parametrize(
    ("event", "fixture_name", "expected"),
    [
        (
            "push",
            "github_push.json",
            "octocat pushed 2 commit(s) to octo-org/octo-repo (refs/heads/main): "
            "https://github.com/octo-org/octo-repo/compare/6113728f27ae...000000000001",
        ),
        (
            "pull_request",
            "github_pull_request.json",
            "Pull request #42 opened in octo-org/octo-repo: Update the README with new "
            "information by octocat https://github.com/octo-org/octo-repo/pull/42",
        ),
    ],
)
def test_github_preset_reaches_telegram(api, channels, telegram, event, fixture_name, expected):
    secret = "gh-secret"
    endpoint = create_endpoint(
        api,
        preset="github",
        secret=secret,
        preset_channels=["telegram"],
        preset_recipient="-1001234567890",
    )
    assert endpoint["verification"] == "github"
    body = fixture(fixture_name)
    post(endpoint, body, **github_headers(secret, body, event, f"d-{event}"))

    process_all()

    assert telegram.requests[0].json() == {"chat_id": "-1001234567890", "text": expected}


@pytest.mark.parametrize(
    ("fixture_name", "expected"),
    [
        (
            "stripe_payment_intent_succeeded.json",
            "Payment of 20.00 USD succeeded (pi_3MtwBwLkdIwHu7ix28a3tqPa)",
        ),
        ("stripe_charge_failed.json", "Charge of 10.99 EUR failed: Your card was declined."),
    ],
)
def test_stripe_preset_reaches_email(api, channels, smtp, fixture_name, expected):
    secret = "whsec_stripe"
    endpoint = create_endpoint(
        api,
        preset="stripe-payments",
        secret=secret,
        preset_channels=["email"],
        preset_recipient="finance@acme.test",
    )
    body = fixture(fixture_name)
    post(endpoint, body, **stripe_headers(secret, body))

    process_all()

    [mail] = smtp.messages
    assert mail["to"] == ["finance@acme.test"]
    assert expected in mail["data"]


def test_alertmanager_preset_reaches_discord(api, channels, discord):
    endpoint = create_endpoint(
        api, preset="alertmanager", secret="k", preset_channels=["discord"], preset_recipient="ops"
    )
    body = fixture("alertmanager.json")
    # Alertmanager cannot sign: it sends its http_config.authorization credentials.
    post(endpoint, body, HTTP_AUTHORIZATION="Bearer k")

    process_all()

    assert discord.requests[0].json() == {
        "content": "[FIRING] HighLatency: p99 latency above 2s on checkout (2 alert(s))"
    }


def test_generic_preset(api, channels, slack):
    endpoint = create_endpoint(
        api, preset="generic", secret="k", preset_channels=["slack"], preset_recipient="ops"
    )
    body = fixture("generic.json")
    post(endpoint, body, **hmac_headers("k", body))

    process_all()

    assert slack.requests[0].json() == {"text": "Nightly backup finished: 12.4 GB in 8 min"}


def test_presets_are_listed(api):
    presets = api.get("/api/v1/inbound-presets").json()
    keys = {preset["key"] for preset in presets}
    assert {"shopify-orders", "github", "stripe-payments", "alertmanager", "generic"} <= keys


def test_exact_rules_win_over_the_wildcard_and_no_match_is_ignored(api, channels, slack):
    # "first" mode (endpoints made before rule modes); "all" is in test_inbound_rules_*.py.
    endpoint = create_endpoint(
        api,
        verification="none",
        rule_mode="first",
        rules=[
            {"event": "*", "message": "any {{ event }}", "channels": ["slack"], "recipient": "o"},
            {"event": "deploy", "message": "deployed", "channels": ["slack"], "recipient": "o"},
        ],
    )
    post(endpoint, as_json({"event": "deploy"}))
    post(endpoint, as_json({"event": "other"}))
    only_exact = create_endpoint(
        api,
        verification="none",
        rules=[{"event": "deploy", "message": "d", "channels": ["slack"], "recipient": "o"}],
    )
    post(only_exact, as_json({"event": "unrelated"}))

    process_all()

    assert sorted(r.json()["text"] for r in slack.requests) == ["any other", "deployed"]
    ignored = InboundEvent.objects.get(status="ignored")
    assert "unrelated" in ignored.error


def test_a_template_error_fails_the_event_then_reprocessing_after_the_fix_works(
    api, channels, slack
):
    endpoint = create_endpoint(
        api,
        verification="none",
        rules=[
            {
                "event": "*",
                "message": "Order #{{ order_number }}",
                "channels": ["slack"],
                "recipient": "o",
            }
        ],
    )
    post(endpoint, as_json({"event": "order", "number": 7}))
    process_all()

    failed = api.get("/api/v1/inbound-events?status=failed").json()["results"]
    assert len(failed) == 1
    assert failed[0]["error"] == "template variable 'order_number' is undefined"
    assert slack.requests == []

    api.patch(
        f"/api/v1/inbound-endpoints/{endpoint['id']}",
        {
            "rules": [
                {
                    "event": "*",
                    "message": "Order #{{ number }}",
                    "channels": ["slack"],
                    "recipient": "o",
                }
            ]
        },
        content_type="application/json",
    )
    response = api.post_json(f"/api/v1/inbound-events/{failed[0]['id']}/reprocess")
    assert response.json() == {"queued": 1}
    process_all()

    assert InboundEvent.objects.get().status == "processed"
    assert slack.requests[0].json() == {"text": "Order #7"}


def test_bulk_reprocess_by_ids_or_status(api, channels, slack):
    endpoint = create_endpoint(
        api,
        verification="none",
        rules=[{"event": "*", "message": "{{ missing }}", "channels": ["slack"], "recipient": "o"}],
    )
    for n in range(3):
        post(endpoint, as_json({"event": "e", "n": n}))
    process_all()
    failed_ids = list(InboundEvent.objects.values_list("pk", flat=True))

    by_ids = api.post_json("/api/v1/inbound-events/reprocess", {"ids": failed_ids[:1]})
    assert by_ids.json() == {"queued": 1}
    process_all()
    by_status = api.post_json("/api/v1/inbound-events/reprocess", {"status": "failed"})
    assert by_status.json() == {"queued": 3}
    bad = api.post_json("/api/v1/inbound-events/reprocess", {})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed"),
        ("{{ 'x' * 100000000 }}", "too large"),
        ("{{ 10 ** 100000 }}", "too large"),
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ customer.first_name }}", "template variable"),
    ],
)
def test_hostile_templates_fail_the_event_not_the_worker(api, channels, template, reason):
    endpoint = create_endpoint(
        api,
        verification="none",
        rules=[{"event": "*", "message": template, "channels": ["slack"], "recipient": "o"}],
    )
    post(endpoint, as_json({"event": "x", "customer": {}}))

    process_all()

    event = InboundEvent.objects.get()
    assert event.status == "failed"
    assert reason in event.error


@pytest.mark.parametrize(
    ("template", "timeout", "error"),
    [
        (
            "{{ ([payload.s] * 10000) | join }}",
            10,
            "template_too_large: the templates need more than 64 MiB of memory",
        ),
        (
            "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
            0.5,
            "template_timeout: the templates took longer than 0.5 s",
        ),
    ],
    ids=["memory", "time"],
)
def test_a_template_past_the_child_limits_fails_the_event_with_a_code(
    api, channels, settings, template, timeout, error
):
    # A payload string of 1000 KiB: the join asks for ~10 GB in one C call.
    settings.ONEPING_TEMPLATE_MEMORY_BUDGET_MB = 64
    settings.ONEPING_TEMPLATE_TIMEOUT_SECONDS = timeout
    endpoint = create_endpoint(
        api,
        verification="none",
        rules=[{"event": "*", "message": template, "channels": ["slack"], "recipient": "o"}],
    )
    post(endpoint, as_json({"event": "x", "s": "x" * 1000 * 1024}))

    process_all()

    event = InboundEvent.objects.get()
    assert (event.status, event.error) == ("failed", error)
    assert Message.objects.count() == 0


def test_over_quota_fails_with_quota_exceeded(api, account, channels):
    MonthlyUsage.objects.create(account=account, period_start=billing_period()[0].date(), used=100)
    endpoint = create_endpoint(
        api,
        verification="none",
        rules=[{"event": "*", "message": "hi", "channels": ["slack"], "recipient": "o"}],
    )
    post(endpoint, as_json({"event": "x"}))

    process_all()

    assert InboundEvent.objects.get().error.startswith("quota_exceeded")


def test_processing_twice_sends_once(api, channels, slack):
    endpoint = create_endpoint(
        api,
        verification="none",
        rules=[{"event": "*", "message": "once", "channels": ["slack"], "recipient": "o"}],
    )
    post(endpoint, as_json({"event": "x"}))
    event = InboundEvent.objects.get()

    processing.process(event.pk)
    InboundEvent.objects.update(status="received")  # as if the task were delivered again
    processing.process(event.pk)
    process_all()

    assert Message.objects.count() == 1
    assert len(slack.requests) == 1


@pytest.mark.parametrize(
    ("rules", "message_start"),
    [
        (
            [{"event": "*", "message": "{{ oops", "channels": ["slack"], "recipient": "o"}],
            "rules[0].message:",
        ),
        (
            [{"event": "*", "message": "hi", "channels": ["telegram"], "recipient": "o"}],
            "rules[0].channels:",
        ),
        (
            [{"event": "", "message": "hi", "channels": ["slack"], "recipient": "o"}],
            "rules[0].event:",
        ),
        ([{"event": "*", "message": "hi", "channels": ["slack"]}], "rules[0].recipient:"),
        ("not a list", "rules:"),
    ],
)
def test_rules_are_validated_when_saved(api, account, slack, rules, message_start):
    from channels_app.models import ChannelConfig

    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/h"}
    )
    response = api.post_json(
        "/api/v1/inbound-endpoints", {"name": "x", "verification": "none", "rules": rules}
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message_start)


def test_a_secret_is_required_unless_verification_is_none(api, channels):
    response = api.post_json("/api/v1/inbound-endpoints", {"name": "x", "verification": "github"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("secret:")


def test_the_secret_is_shown_at_creation_only(api, channels):
    endpoint = create_endpoint(api, verification="github", secret="top-secret-value")
    assert endpoint["secret"] == "top-secret-value"
    assert endpoint["url"].startswith("http://testserver/hooks/in/")
    assert len(endpoint["url"].rsplit("/", 1)[1]) >= 24
    shown = api.get(f"/api/v1/inbound-endpoints/{endpoint['id']}").json()
    assert "secret" not in shown
    assert shown["secret_hint"] == "…alue"


def test_other_accounts_inbound_objects_are_404(api, channels, make_account, make_api_client):
    endpoint = create_endpoint(api, verification="none", rules=[])
    post(endpoint, as_json({"event": "x"}))
    event = InboundEvent.objects.get()
    stranger = make_api_client(make_account("Stranger"))

    assert stranger.get(f"/api/v1/inbound-endpoints/{endpoint['id']}").status_code == 404
    assert stranger.get(f"/api/v1/inbound-events/{event.pk}").status_code == 404
    assert stranger.post_json(f"/api/v1/inbound-events/{event.pk}/reprocess").status_code == 404
    assert stranger.post_json("/api/v1/inbound-events/reprocess", {"ids": [event.pk]}).json() == {
        "queued": 0
    }
    assert stranger.get("/api/v1/inbound-events").json()["results"] == []


def test_event_detail_shows_the_payload(api, channels):
    endpoint = create_endpoint(api, verification="none", rules=[])
    post(endpoint, as_json({"event": "x", "n": 1}))
    event = InboundEvent.objects.get()

    detail = api.get(f"/api/v1/inbound-events/{event.pk}").json()

    assert detail["body"] == '{"event": "x", "n": 1}'
    assert detail["headers"]["Content-Type"] == "application/json"
    assert detail["event_type"] == "x"


def test_the_admin_reprocesses_failed_inbound_events(api, channels, slack, admin_client):
    endpoint = create_endpoint(
        api,
        verification="none",
        rules=[{"event": "*", "message": "{{ nope }}", "channels": ["slack"], "recipient": "o"}],
    )
    post(endpoint, as_json({"event": "x", "nope": "fixed"}))
    InboundEvent.objects.update(status="failed", error="earlier failure")
    pk = InboundEvent.objects.get().pk

    response = admin_client.post(
        "/admin/webhooks/inboundevent/",
        {"action": "reprocess", "_selected_action": [pk]},
        follow=True,
    )

    assert "Queued 1 inbound events again." in response.content.decode()
    process_all()
    assert slack.requests[0].json() == {"text": "fixed"}
    assert admin_client.get(f"/admin/webhooks/inboundevent/{pk}/change/").status_code == 200
    assert admin_client.get("/admin/webhooks/inboundendpoint/").status_code == 200
