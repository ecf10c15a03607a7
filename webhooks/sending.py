"""Sending webhook deliveries: sign, POST, log the attempt, retry on the schedule (the
webhook outbox's act and record; oneping/outbox/ has the worker's steps).

https://www.standardwebhooks.com/ — 2xx is success; 410 Gone means the receiver wants no
more (the endpoint is disabled at once); 429/502/503/504 may carry Retry-After, which we
honour; anything else, or no answer, is a failed attempt retried on the schedule.
"""

import logging
import time
from datetime import datetime

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from oneping import bulk, http, instruments
from oneping.outbox import Claim, Outbox
from oneping.urlguard import UrlNotAllowed
from webhooks import retry
from webhooks import secrets as webhook_secrets
from webhooks.endpoints import disable
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.queueing import SEND_WEBHOOK_TASK
from webhooks.signing import signature_headers

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status
USER_AGENT = "oneping-webhooks/0.1"
RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})
EXCERPT_LIMIT = 2048

# What recording an attempt writes on its webhook delivery.
OUTCOME_FIELDS = [
    "status",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "enqueued_at",
    "lease_expires_at",
    "updated_at",
    "trigger",
]


def _load(claimed: list[str]) -> list[WebhookDelivery]:
    deliveries = list(
        WebhookDelivery.objects.select_related("event", "endpoint").filter(pk__in=claimed)
    )
    # Looked up here: the POSTs run in other threads, which must not touch the database.
    for delivery in deliveries:
        delivery.signing_secrets = webhook_secrets.signing_secrets(delivery)
    return deliveries


class Outcome:
    def __init__(self) -> None:
        self.url = ""
        self.request_headers: dict[str, str] = {}
        self.status_code: int | None = None
        self.response_body = ""
        self.error = ""
        self.duration_ms = 0
        self.retry_after: float | None = None
        self.permanent = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def kind(self, delivery: WebhookDelivery) -> str:
        """In the metrics' words; permanent as _apply decides it (410 from an endpoint, a
        URL not allowed): the delivery gets no more retries."""
        if self.succeeded:
            return instruments.DELIVERED
        if self.permanent or (self.status_code == 410 and delivery.endpoint is not None):
            return instruments.PERMANENT
        return instruments.TRANSIENT


def _post(delivery: WebhookDelivery) -> Outcome:
    outcome = Outcome()
    endpoint = delivery.endpoint
    outcome.url = endpoint.url if endpoint else delivery.callback_url
    body = delivery.event.body.encode()
    outcome.request_headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signature_headers(delivery.signing_secrets, delivery.event_id, int(time.time()), body),
    }
    started = time.monotonic()
    try:
        response = http.post(
            outcome.url,
            data=body,
            headers=outcome.request_headers,
            timeout=settings.ONEPING_WEBHOOK_TIMEOUT_SECONDS,
        )
    except UrlNotAllowed as exc:
        outcome.error, outcome.permanent = f"URL not allowed: {exc}", True
    except requests.RequestException as exc:
        # From the failure's kind and the host only: requests' own text names the URL's
        # path and query, where callback URLs often carry a token.
        reason = http.describe_failure(exc, http.host_of(outcome.url))
        if isinstance(exc, requests.Timeout):
            reason = f"{reason} (after {settings.ONEPING_WEBHOOK_TIMEOUT_SECONDS} s)"
        outcome.error = f"{reason[0].upper()}{reason[1:]}."
    else:
        outcome.status_code = response.status_code
        outcome.response_body = response.text[:EXCERPT_LIMIT]
        if response.status_code in RETRY_AFTER_STATUSES:
            outcome.retry_after = http.parse_retry_after(response.headers.get("Retry-After"))
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    return outcome


def _record(outcomes: list[tuple[WebhookDelivery, Outcome]], claim: Claim) -> None:
    """The attempts' log rows, the endpoints' failing_since and the deliveries' new state:
    one statement each for the whole group, in one transaction."""
    for delivery, outcome in outcomes:
        instruments.WEBHOOK_ATTEMPTS.labels(outcome.kind(delivery)).inc()
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                webhook_delivery=delivery,
                endpoint=delivery.endpoint,
                event=delivery.event,
                at=now,
                url=outcome.url,
                request_headers=outcome.request_headers,
                status_code=outcome.status_code,
                duration_ms=outcome.duration_ms,
                response_body=outcome.response_body,
                error=outcome.error,
                trigger=delivery.trigger,
            )
            for delivery, outcome in outcomes
        )
        answered = [(d.endpoint, outcome) for d, outcome in outcomes if d.endpoint is not None]
        recovered = {e.pk for e, outcome in answered if outcome.succeeded and e.failing_since}
        failing = {e.pk for e, outcome in answered if not outcome.succeeded}
        if recovered - failing:
            WebhookEndpoint.objects.filter(pk__in=recovered - failing).update(failing_since=None)
        if failing:
            WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
                failing_since=now
            )
        # After the log and the endpoints, as before the shared worker: the same lock order.
        mine = claim.still_ours(outcomes)
        for delivery, outcome in mine:
            _apply(delivery, outcome, now, claim.outbox)
        if mine:
            bulk.update_rows([delivery for delivery, _ in mine], OUTCOME_FIELDS)


def _apply(delivery: WebhookDelivery, outcome: Outcome, now: datetime, outbox: Outbox) -> None:
    """Set the attempt's outcome on the delivery (saved by the caller)."""
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error or _describe(outcome)
    delivery.lease_expires_at = None
    delivery.updated_at = now
    # A manual re-send is one attempt; retries after it are scheduled again.
    delivery.trigger = WebhookDelivery.Trigger.SCHEDULED
    endpoint = delivery.endpoint
    if outcome.succeeded:
        delivery.status, delivery.last_error, delivery.next_attempt_at = Status.SUCCEEDED, "", None
    elif outcome.status_code == 410 and endpoint is not None:
        disable(endpoint, f"The endpoint answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC.")
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
    elif outcome.permanent or outbox.retry_later(delivery, outcome.retry_after, now) is None:
        # Not retried: a URL we may not call, or the schedule's last attempt.
        delivery.status, delivery.next_attempt_at = Status.FAILED, None


def _describe(outcome: Outcome) -> str:
    if outcome.succeeded:
        return ""
    return f"The receiver answered {outcome.status_code}."


WEBHOOKS = Outbox(
    name="webhook deliveries",
    model=WebhookDelivery,
    task_name=SEND_WEBHOOK_TASK,
    waiting=Status.PENDING,
    claimed=Status.SENDING,
    retrying=Status.RETRYING,
    lease_setting="ONEPING_WEBHOOK_LEASE_SECONDS",
    policy=retry.policy,
    # A disabled endpoint receives nothing; its deliveries wait until it is enabled again.
    receiving=Q(endpoint__isnull=True) | Q(endpoint__enabled=True),
    load=_load,
    act=_post,
    record=_record,
)

# The worker's entry points under the names tools, tests and the bench use.
BATCH = WEBHOOKS.batch
attempt = WEBHOOKS.attempt
attempt_many = WEBHOOKS.attempt_many


def sweep() -> int:
    """Enqueue webhook deliveries whose task was lost, or whose long retry is now due."""
    return WEBHOOKS.sweep()
