"""Quota warnings (issue #21): at 80 % and at 100 % of a live account's monthly quota, once
per period and level, each owner and admin gets an email and the webhook endpoints that
name `account.quota_warning` get that event, signed, over HTTP; endpoints taking every
event do not. Through a real worker, a real SMTP server and a real receiver.

Each level's warning is enqueued on the default queue after the ones before it, and the
solo worker takes that queue in order: once a later warning has arrived, any stray earlier
one would have too, so the exact counts after it prove that nothing else was sent.
"""

import email
import email.policy
import re
from datetime import date

import pytest
import standardwebhooks.webhooks
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import api_keys, environments, quota, quota_warnings
from accounts.models import Membership, MonthlyUsage
from accounts.usage import billing_period
from tests.conftest import ApiClient, post_send, send, set_caps, wait_until
from tests.hostile.objects import make_objects
from tests.inbound_helpers import create_inbound_endpoint, fixture, inbound_path, shopify_headers
from tests.test_dashboard_test_mode import every_dashboard_route
from tests.test_quota_and_idempotency import concurrently
from webhooks.models import Event, WebhookEndpoint

QUOTA = 10  # 80 % is the 8th message, 100 % the 10th
EVENT = "account.quota_warning"
SECRET = "shpss_quota"


@pytest.fixture
def mail(smtp, settings):
    """Django's mail goes to the fake SMTP server (the worker is a thread: same settings)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "noreply@oneping.test"
    return smtp


@pytest.fixture
def team(account, make_member) -> dict[str, str]:
    """The account's owner, an admin and a plain member, by role: their addresses."""
    make_member(Membership.Role.ADMIN, "admin@example.com")
    make_member(Membership.Role.MEMBER, "member@example.com")
    return {m.role: m.user.email for m in Membership.objects.filter(account=account)}


@pytest.fixture
def endpoints(api, receiver, make_account, make_api_client) -> dict[str, dict]:
    """Three endpoints on the receiver: ours naming the event, ours taking every event, and
    another account's naming it."""

    def create(client: ApiClient, path: str, event_types: list[str]) -> dict:
        body = {"url": f"{receiver.url}{path}", "event_types": event_types}
        response = client.post_json("/api/v1/webhook-endpoints", body)
        assert response.status_code == 201, response.content
        return response.json()

    other = make_api_client(make_account("Other"))
    return {
        "named": create(api, "/named", [EVENT, "message.failed"]),
        "all": create(api, "/all", []),
        "other": create(other, "/other", [EVENT]),
    }


def warnings_at(receiver, path: str) -> list:
    return [
        request
        for request in receiver.requests
        if request.path == path and request.json()["event"] == EVENT
    ]


def parsed(message: dict) -> email.message.EmailMessage:
    return email.message_from_string(message["data"], policy=email.policy.default)


def this_month() -> MonthlyUsage:
    return MonthlyUsage.objects.get(period_start=billing_period()[0].date())


def wait_for_warnings(mail, receiver, emails: int, events: int) -> None:
    mail.wait_for(emails, timeout=60)
    wait_until(lambda: len(warnings_at(receiver, "/named")) >= events, timeout=60)


def test_warnings_once_at_80_and_100_percent_and_again_next_month(
    account,
    api,
    slack_channel,
    team,
    endpoints,
    receiver,
    mail,
    public_url,
    celery_worker,
):
    set_caps(account, monthly_quota=QUOTA)
    period_end = billing_period()[1]

    # Given sends up to 79 %: no claim, so nothing for the worker
    for _ in range(7):
        send(api)
    assert this_month().warned_percent == 0

    # When the 8th message reaches 80 %
    send(api)

    # Then one mail to the owner and one to the admin, not to the member
    wait_for_warnings(mail, receiver, emails=2, events=1)
    first = list(mail.messages)
    assert sorted(address for m in first for address in m["to"]) == sorted(
        [team["owner"], team["admin"]]
    )
    message = parsed(first[0])
    assert "80 %" in message["Subject"] and "Acme" in message["Subject"]
    body = message.get_content()
    assert "has used 8 of its 10 messages this month" in body
    assert f"resets on {period_end:%-d %B %Y} at 00:00 UTC" in body
    assert f"{public_url}/plan/" in body
    # And one signed event to the endpoint naming it, with the numbers
    [request] = warnings_at(receiver, "/named")
    standardwebhooks.webhooks.Webhook(endpoints["named"]["secret"]).verify(
        request.body, request.headers
    )
    payload = request.json()
    assert payload["livemode"] is True
    assert payload["data"] == {
        "used": 8,
        "limit": QUOTA,
        "percent": 80,
        "period_end": period_end.isoformat().replace("+00:00", "Z"),
    }

    # When further sends stay below 100 %, then the level stays claimed
    send(api)
    assert this_month().warned_percent == 80

    # When the 10th message reaches 100 %
    send(api)

    # Then a second mail to each and a second event, percent 100
    wait_for_warnings(mail, receiver, emails=4, events=2)
    second = parsed(mail.messages[-1])
    assert "has used its 10 messages" in second["Subject"]
    assert "Further messages are refused" in second.get_content()
    assert warnings_at(receiver, "/named")[-1].json()["data"]["percent"] == 100

    # When sends are refused at the quota, nothing new is claimed or sent
    assert post_send(api).status_code == 429
    assert post_send(api).status_code == 429
    assert this_month().warned_percent == 100

    # When the month turns (the period's row moved a month back, as if it were last month's)
    MonthlyUsage.objects.filter(account=account).update(period_start=date(2020, 1, 1))
    for _ in range(8):
        send(api)

    # Then the new month warns again at 80 %, and nothing else was sent in between
    wait_for_warnings(mail, receiver, emails=6, events=3)
    assert len(mail.messages) == 6
    assert [r.json()["data"]["percent"] for r in warnings_at(receiver, "/named")] == [80, 100, 80]
    # Never to the endpoint that takes every event, nor to another account's
    assert warnings_at(receiver, "/all") == []
    assert warnings_at(receiver, "/other") == []
    assert not [m for m in mail.messages if team["member"] in m["to"]]


def test_a_level_skipped_by_a_downgrade_warns_once_at_the_next_refused_send(
    account, api, slack_channel, team, endpoints, receiver, mail, celery_worker
):
    # Given an account already past its quota (a plan downgraded mid-month), never warned
    MonthlyUsage.objects.create(account=account, period_start=billing_period()[0].date(), used=15)
    set_caps(account, monthly_quota=QUOTA)

    # When its next sends are refused
    assert post_send(api).status_code == 429

    # Then the highest level is warned, once: 100 %, not 80 %
    wait_for_warnings(mail, receiver, emails=2, events=1)
    [request] = warnings_at(receiver, "/named")
    data = request.json()["data"]
    assert (data["used"], data["limit"], data["percent"]) == (15, QUOTA, 100)
    assert "has used 15 of its 10 messages" in parsed(mail.messages[0]).get_content()
    assert this_month().warned_percent == 100
    assert post_send(api).status_code == 429
    assert this_month().warned_percent == 100


def test_test_mode_never_warns(
    account, api, slack_channel, team, endpoints, receiver, mail, settings, celery_worker
):
    # Given a test environment with a small daily cap, and a test-mode endpoint naming the event
    settings.ONEPING_TEST_MODE_MESSAGES_PER_DAY = 5
    test_env = environments.test_environment(account)
    test_api = ApiClient(api_keys.issue_key(test_env, "test key")[1])
    assert (
        test_api.post_json(
            "/api/v1/webhook-endpoints", {"url": f"{receiver.url}/test", "event_types": [EVENT]}
        ).status_code
        == 201
    )
    set_caps(account, monthly_quota=QUOTA)

    # When test mode sends its whole day's cap and more
    for _ in range(5):
        send(test_api)
    assert post_send(test_api).status_code == 429

    # Then nothing is claimed for it
    assert MonthlyUsage.objects.get(account=test_env).warned_percent == 0
    # And the live account's 80 % warning, enqueued after, is the only one sent
    for _ in range(8):
        send(api)
    wait_for_warnings(mail, receiver, emails=2, events=1)
    assert len(mail.messages) == 2
    assert warnings_at(receiver, "/test") == []


def test_concurrent_sends_crossing_80_percent_warn_once(
    transactional_db, account, slack_channel, team, endpoints, receiver, mail, celery_worker
):
    # Given 70 of 100 messages used
    MonthlyUsage.objects.create(account=account, period_start=billing_period()[0].date(), used=70)
    _, raw_key = api_keys.issue_key(account, "race")

    # When 20 sends race across 80 %
    statuses = concurrently(20, lambda _: post_send(ApiClient(raw_key)).status_code)

    # Then all are accepted and the level is claimed by one of them
    assert statuses == [202] * 20
    assert this_month().used == 90
    assert this_month().warned_percent == 80
    wait_for_warnings(mail, receiver, emails=2, events=1)
    # And 100 % (enqueued after any duplicate would have been) makes exactly the second pair
    statuses = concurrently(15, lambda _: post_send(ApiClient(raw_key)).status_code)
    assert statuses.count(202) == 10
    wait_for_warnings(mail, receiver, emails=4, events=2)
    assert len(mail.messages) == 4
    assert [r.json()["data"]["percent"] for r in warnings_at(receiver, "/named")] == [80, 100]


def test_the_banner_names_used_and_limit_and_links_the_plan_on_every_page(owner_client, account):
    objects = make_objects(account, tag="live")
    MonthlyUsage.objects.filter(account=account).update(used=80)
    kwargs = {
        "key_id": objects.api_key.pk,
        "delivery_id": objects.delivery.pk,
        "contact_id": objects.contact.pk,
        "message_id": objects.message.pk,
        "suppression_id": objects.suppression.pk,
        "endpoint_id": objects.webhook_endpoint.pk,
        "event_id": objects.inbound_event.pk,
        "membership_id": Membership.objects.filter(account=account).first().pk,
        "invitation_id": "inv_x",
        "account_id": account.pk,
        "kind": "email",
    }
    banner = "You have used 80 of 100 messages this month"
    link = '<a href="/plan/">Upgrade your plan</a>'
    shown = []
    for name, pattern in sorted(every_dashboard_route().items()):
        wanted = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
        params = {key: kwargs[key] for key in wanted}
        if name.startswith("dashboard-inbound") and "endpoint_id" in params:
            params["endpoint_id"] = objects.inbound_endpoint.pk
        response = owner_client.get(reverse(name, kwargs=params))
        if response.status_code == 200:
            page = response.content.decode()
            assert banner in page and link in page, name
            shown.append(name)
    assert {"overview", "dashboard-plan", "dashboard-message", "dashboard-webhook"} <= set(shown)


def test_a_plan_upgrade_mid_month_keeps_the_80_percent_warning_sent(
    account, api, slack_channel, team, endpoints, receiver, mail, celery_worker
):
    # Given the 80 % warning sent on a quota of 10
    set_caps(account, monthly_quota=QUOTA)
    for _ in range(8):
        send(api)
    wait_for_warnings(mail, receiver, emails=2, events=1)

    # When the plan doubles the quota and sends reach 80 % of the new one, then 100 %
    set_caps(account, monthly_quota=2 * QUOTA)
    for _ in range(8):
        send(api)
    assert this_month().warned_percent == 80
    for _ in range(4):
        send(api)

    # Then 80 % was not sent again (once per period), and 100 % of the new quota was
    wait_for_warnings(mail, receiver, emails=4, events=2)
    assert len(mail.messages) == 4
    assert [r.json()["data"] for r in warnings_at(receiver, "/named")][-1] == {
        "used": 20,
        "limit": 20,
        "percent": 100,
        "period_end": billing_period()[1].isoformat().replace("+00:00", "Z"),
    }


def test_an_inbound_rules_send_warns_too(
    account, api, slack_channel, team, endpoints, receiver, mail, celery_worker
):
    # Given 7 of 10 messages used and an inbound endpoint whose rule sends to Slack
    set_caps(account, monthly_quota=QUOTA)
    MonthlyUsage.objects.create(account=account, period_start=billing_period()[0].date(), used=7)
    endpoint = create_inbound_endpoint(
        api,
        verification="shopify",
        secret=SECRET,
        rules=[
            {
                "event": "orders/create",
                "message": "Order #{{ order_number }}",
                "channels": ["slack"],
                "recipient": "sales",
            }
        ],
    )

    # When an order arrives and its rule's message is the 8th
    body = fixture("shopify_orders_create.json")
    response = Client().post(
        inbound_path(endpoint),
        body,
        content_type="application/json",
        **shopify_headers(SECRET, body, "orders/create", "w-1"),
    )
    assert response.status_code == 200, response.content

    # Then the 80 % warning goes out as for an API send
    wait_for_warnings(mail, receiver, emails=2, events=1)
    assert warnings_at(receiver, "/named")[0].json()["data"]["used"] == 8


def test_the_worker_claims_a_refused_sends_level_once(account, team, endpoints, mailoutbox):
    # Given two refused sends' tasks for the same level (both enqueued before either ran)
    period = billing_period()[0].date()
    MonthlyUsage.objects.create(account=account, period_start=period, used=12)
    set_caps(account, monthly_quota=QUOTA)

    # When both run
    quota_warnings.deliver(account.pk, period, 100, claim_first=True)
    quota_warnings.deliver(account.pk, period, 100, claim_first=True)

    # Then one mail per owner and admin, and one event
    assert sorted(m.to[0] for m in mailoutbox) == sorted([team["owner"], team["admin"]])
    [event] = Event.objects.filter(type=EVENT)
    assert event.account_id == account.pk
    assert event.webhook_deliveries.get().endpoint_id == endpoints["named"]["id"]


def test_the_event_type_is_accepted_by_the_api_and_the_form_and_documented(
    api, owner_client, account, receiver
):
    created = api.post_json(
        "/api/v1/webhook-endpoints", {"url": f"{receiver.url}/a", "event_types": []}
    ).json()
    updated = api.patch(
        f"/api/v1/webhook-endpoints/{created['id']}",
        {"event_types": [EVENT]},
        content_type="application/json",
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["event_types"] == [EVENT]

    form = owner_client.get("/webhooks/new/").content.decode()
    assert f'value="{EVENT}"' in form
    assert "which is sent only to endpoints that tick it" in form
    response = owner_client.post(
        "/webhooks/new/", {"url": f"{receiver.url}/b", "event_types": [EVENT]}
    )
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get(url=f"{receiver.url}/b").event_types == [EVENT]

    schema = api.get("/api/schema/").content.decode()
    assert "account.quota_warning" in schema  # the events filter and the opt-in help text


def test_a_send_below_80_percent_costs_no_statement_more_than_its_count(account):
    # Given a month at 50 of 100 messages
    MonthlyUsage.objects.create(account=account, period_start=billing_period()[0].date(), used=50)
    account.plan  # noqa: B018 (loaded before counting: the send path has it already)

    # When a message is counted
    with CaptureQueriesContext(connection) as queries:
        quota.consume(account)

    # Then the usage row is touched by the counting UPDATE alone, which reads the warned level
    usage_statements = [q["sql"] for q in queries if "accounts_monthlyusage" in q["sql"]]
    assert len(usage_statements) == 1
    assert usage_statements[0].startswith("UPDATE") and "warned_percent" in usage_statements[0]
    assert this_month().warned_percent == 0
