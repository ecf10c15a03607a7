"""POST /hooks/in/<token>: verify, store, acknowledge. Nothing else happens in the request.

Order matters: an unknown token or a bad signature stores nothing (only a counter and the
last reason on the endpoint), so unsigned junk cannot fill the database. The rate limits
come before the signature check: a flood costs a cache increment, not an HMAC and a write
of the failure counter. The IP allowlist comes after the rate limit, so every request,
allowed or not, counts against it and the limit bounds all the work a URL can be made to
do (the allowlist reads the client-written X-Forwarded-For and up to 100 networks), and
before the signature, so a request from elsewhere costs no HMAC. It is counted like a
failed verification (the endpoint's counter and last reason), but written at most once a
second per endpoint (_count_refusal), so a flood from elsewhere costs cache operations,
not a row update each.
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from oneping import instruments, logs, ratelimit
from webhooks.inbound import allowlist, event_types
from webhooks.inbound import payload as payloads
from webhooks.inbound.queueing import enqueue
from webhooks.inbound.schemes import SCHEMES, VerificationFailed
from webhooks.models import InboundEndpoint, InboundEvent

MAX_BODY_BYTES = 1024 * 1024
# How often an endpoint's row is written for refused addresses (_count_refusal).
REFUSAL_WRITE_SECONDS = 1
# Not kept with the stored event (members, the API and the admin see stored headers):
# credentials of the sender's own, not evidence. Signature headers stay: an HMAC over the
# body says nothing without the secret. README "Inbound webhooks" lists these.
DROPPED_HEADERS = frozenset(
    {
        "authorization",  # RFC 9110 §11.6.2
        "proxy-authorization",  # RFC 9110 §11.7.2
        "cookie",
        # GitLab sends the webhook's secret token itself, in plain text:
        # https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token
        "x-gitlab-token",
        "x-api-key",
        "api-key",
        # Asana's handshake secret: https://developers.asana.com/docs/webhooks-guide
        "x-hook-secret",
        # Google's push-notification channel token: https://developers.google.com/workspace/drive/api/guides/push
        "x-goog-channel-token",
    }
)
# Any other header whose name says it carries a credential, e.g. X-Auth-Token,
# X-Webhook-Secret, X-Access-Token, X-Apikey.
DROPPED_NAME_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "api-key",
    "auth",
    "cookie",
)


def kept_headers(
    headers: dict[str, str], credentials: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The request headers stored with an event: all but credentials (and those the
    endpoint's scheme says carry its secret, such as the token scheme's header)."""
    return {
        name: value
        for name, value in headers.items()
        if name.lower() not in DROPPED_HEADERS
        and name.lower() not in credentials
        and not any(part in name.lower() for part in DROPPED_NAME_PARTS)
    }


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def receive(
    token: str, body: bytes, headers: dict[str, str], content_type: str, remote_ip: str | None
) -> Answer:
    endpoint = (
        InboundEndpoint.objects.filter(token_hash=token_hash(token), enabled=True)
        .select_related("account")
        .first()
    )
    if endpoint is None:
        return _error(404, "not_found", "No enabled inbound endpoint has this URL.")
    logs.bind(account_id=endpoint.account_id)
    limited = _rate_limited(endpoint)
    if limited is not None:
        return limited
    refused = allowlist.refusal(endpoint.allowed_ips, remote_ip, headers)
    if refused:
        _count_refusal(endpoint, refused)
        return _error(403, "ip_not_allowed", refused)
    lowered = {name.lower(): value for name, value in headers.items()}
    scheme = SCHEMES[endpoint.verification]
    options = scheme.options(endpoint)
    try:
        scheme.verify(body, lowered, endpoint.secret, **options)
    except VerificationFailed as exc:
        _count_failure(endpoint, str(exc))
        return _error(401, "invalid_signature", str(exc))

    payload = payloads.parse(body, content_type)
    # A URL check the sender needs answered now (Slack's challenge, WooCommerce's ping):
    # no event, nothing stored.
    immediate = scheme.immediate_answer(lowered, payload)
    if immediate is not None:
        return Answer(200, immediate)
    kept = kept_headers(headers, scheme.credential_headers(options))
    event_type = event_types.at_receipt(
        endpoint.event_type_from, scheme.event_type(lowered, payload), kept, payload
    )
    dedup_key = scheme.dedup_key(lowered, payload, body)[:255]
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                account=endpoint.account,
                endpoint=endpoint,
                event_type=event_type,
                dedup_key=dedup_key,
                headers=kept,
                body=body,
                content_type=content_type[:200],
                remote_ip=allowlist.client_ip(remote_ip, headers),
                enqueued_at=timezone.now(),
            )
            transaction.on_commit(lambda: enqueue([event.pk]))
    except IntegrityError:
        # The unique (endpoint, dedup_key) constraint: a retry or a concurrent duplicate.
        instruments.INBOUND_EVENTS.labels("duplicate").inc()
        return Answer(200, {"received": True, "duplicate": True})
    logs.bind(event_id=event.pk)
    instruments.INBOUND_EVENTS.labels(InboundEvent.Status.RECEIVED).inc()
    return Answer(200, {"received": True, "id": event.pk})


def _rate_limited(endpoint: InboundEndpoint) -> Answer | None:
    """429 when the endpoint, or its account (all its endpoints together), is over its rate."""
    refusal = ratelimit.first_exceeded(
        [
            ratelimit.Limit(
                "endpoint",
                f"inbound:endpoint:{endpoint.pk}",
                settings.ONEPING_INBOUND_RATE_PER_ENDPOINT,
                settings.ONEPING_INBOUND_BURST_PER_ENDPOINT,
            ),
            ratelimit.Limit(
                "account",
                f"inbound:account:{endpoint.account_id}",
                settings.ONEPING_INBOUND_RATE_PER_ACCOUNT,
                settings.ONEPING_INBOUND_BURST_PER_ACCOUNT,
            ),
        ]
    )
    if refusal is None:
        return None
    whose = (
        "This inbound URL accepts"
        if refusal.limit.scope == "endpoint"
        else "Your inbound URLs accept"
    )
    return _error(
        429,
        "rate_limited",
        refusal.message(whose),
        details=refusal.details,
        headers=refusal.headers,
    )


def _count_refusal(endpoint: InboundEndpoint, reason: str) -> None:
    """A request from outside allowed_ips, counted as a failure at most once a second per
    endpoint. Unlike a bad signature, a refused address costs the sender nothing to vary
    and the requests before it stay within the rate limit (50/s by default): a row
    update for each would let anyone who knows the URL keep the database writing, and
    contend with the counter's other writers. The owner still sees that it happens, from
    which address and when; the 403s are counted one by one in
    oneping_http_requests_total{route="inbound-webhook", status="403"}."""
    # cache.add is atomic (Redis SET NX): one request a second per endpoint gets to write.
    if cache.add(f"inbound:ip-refusal-written:{endpoint.pk}", 1, REFUSAL_WRITE_SECONDS):
        _count_failure(endpoint, reason)


def _count_failure(endpoint: InboundEndpoint, reason: str) -> None:
    InboundEndpoint.objects.filter(pk=endpoint.pk).update(
        failed_verifications=F("failed_verifications") + 1,
        last_failure_reason=reason[:500],
        last_failure_at=timezone.now(),
    )


def _error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Answer(status, body, headers or {})
