"""Each source of the second wave, with its preset: a real-looking payload with the
sender's headers, signed the way the sender documents it, goes through receive → a real
Celery worker → a notification at the Slack fake."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from tests import inbound_signing as sign
from tests.conftest import wait_until
from tests.inbound_helpers import create_inbound_endpoint, fixture, inbound_path
from webhooks.inbound.schemes import preset
from webhooks.models import InboundEvent

pytestmark = pytest.mark.worker
WAIT = 60.0  # seconds: generous, the machine may be loaded
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a Standard Webhooks key: GitLab signs too
JOTFORM_MULTIPART = "multipart/form-data; boundary=----JotformBoundary7MA4YWxkTrZu0gW"


@dataclass(frozen=True)
class Source:
    preset: str
    fixture: str
    headers: Callable[[bytes], dict[str, str]]
    event_type: str
    text: str
    content_type: str = "application/json"


SOURCES = {
    "gitlab": Source(
        "gitlab",
        "gitlab_push.json",
        lambda body: sign.gitlab(SECRET, body, "Push Hook", "uuid-1", signed=True),
        "Push Hook",
        "John Smith pushed 4 commit(s) to mike/diaspora (refs/heads/master)",
    ),
    "bitbucket": Source(
        "bitbucket",
        "bitbucket_pullrequest_created.json",
        lambda body: sign.bitbucket(SECRET, body, "pullrequest:created"),
        "pullrequest:created",
        "Pull request #17 opened in acme/webshop: Add gift cards by Emma Stone "
        "https://bitbucket.org/acme/webshop/pull-requests/17",
    ),
    "woocommerce": Source(
        "woocommerce-orders",
        "woocommerce_order_created.json",
        lambda body: sign.woocommerce(SECRET, body, "order.created"),
        "order.created",
        "New order #727: 29.35 EUR from John Doe",
    ),
    "typeform": Source(
        "typeform",
        "typeform_form_response.json",
        lambda body: sign.typeform(SECRET, body),
        "form_response",
        "New response to Webhooks example (2 answer(s)) at 2026-12-07T10:00:00Z",
    ),
    "sentry": Source(
        "sentry",
        "sentry_issue_created.json",
        lambda body: sign.sentry(SECRET, body, "issue"),
        "issue.created",
        "New issue in front: ZeroDivisionError: division by zero (checkout.views in total) "
        "https://sentry.io/organizations/acme/issues/1170820242/",
    ),
    "slack": Source(
        "slack-events",
        "slack_app_mention.json",
        lambda body: sign.slack(SECRET, body),
        "app_mention",
        "<@U123ABC456> mentioned the app in <#C123ABC456>: "
        "<@U0LAN0Z89> is it everything a river should be?",
    ),
    "pagerduty": Source(
        "pagerduty",
        "pagerduty_incident_triggered.json",
        lambda body: sign.pagerduty(["an-old-secret", SECRET], body),
        "incident.triggered",
        "Incident #2 triggered on API Service: A little bump in the road (high urgency) "
        "https://acme.pagerduty.com/incidents/PGR0VU2",
    ),
    "grafana": Source(
        "grafana",
        "grafana_firing.json",
        lambda body: sign.grafana(SECRET, body),
        "firing",  # the preset's event_type_from: the body's status
        "[FIRING] [FIRING:1] DiskFull (db-1): Disk 95% full on db-1 (1 alert(s)) "
        "https://grafana.acme.test/",
    ),
    "alertmanager": Source(
        "alertmanager",
        "alertmanager.json",
        lambda body: sign.bearer(SECRET),
        "firing",
        "[FIRING] HighLatency: p99 latency above 2s on checkout (2 alert(s))",
    ),
    "google-forms": Source(
        "google-forms",
        "google_forms_response.json",
        lambda body: sign.bearer(SECRET),
        "Workshop sign-up",  # the form's title
        "New response to Workshop sign-up: Name: Ada Lovelace; Session: Morning",
    ),
    # Jotform posts its fields as multipart/form-data and cannot sign: the URL is the
    # secret. https://www.jotform.com/help/245-how-to-setup-a-webhook-with-jotform/
    "jotform": Source(
        "jotform",
        "jotform_submission.multipart",
        lambda body: {},
        "Contact Us",  # the form's title (formTitle), not its `type` field ("WEB")
        "New submission to Contact Us: Name:Jane Roe, E-mail:jane@example.com, "
        "Message:Call me back",
        content_type=JOTFORM_MULTIPART,
    ),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_a_signed_delivery_becomes_a_slack_notification(
    source, api, channels, slack, celery_worker
):
    case = SOURCES[source]
    endpoint = create_inbound_endpoint(
        api,
        preset=case.preset,
        secret=SECRET,
        preset_channels=["slack"],
        preset_recipient="team",
    )
    # The preset's event_type_from is the endpoint's, shown where it can be changed.
    assert endpoint["event_type_from"] == preset(case.preset)["settings"].get("event_type_from")
    body = fixture(case.fixture)

    response = Client().post(
        inbound_path(endpoint), body, content_type=case.content_type, **case.headers(body)
    )

    assert response.status_code == 200, response.content
    event_id = response.json()["id"]
    event = wait_until(
        lambda: (
            InboundEvent.objects.filter(pk=event_id, status__in=["processed", "failed"])
            .select_related("message")
            .first()
        ),
        timeout=WAIT,
    )
    assert (event.status, event.error) == ("processed", "")
    assert event.event_type == case.event_type
    assert event.message.recipient == "team"
    wait_until(lambda: slack.requests, timeout=WAIT)
    assert slack.requests[0].json() == {"text": case.text}
    # The secret (a token, or GitLab's) is never kept with the event.
    assert SECRET not in str(event.headers)
