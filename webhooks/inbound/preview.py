"""What a delivery would do at an inbound endpoint, without doing it: the preview.

The customer pastes a real delivery from the sender's log (its headers and raw body) and
sees whether it verifies, which check failed, the event type, and the notifications the
rules would send, rendered. Nothing is stored or sent: no event row, no message, no quota,
and the endpoint's failure counter is left alone (receiving.py counts real requests only).

A pasted delivery is always older than the timestamp window, so the timestamp is reported
apart: when the only failure is the timestamp check, the request is verified a second time
with the window lifted (schemes.base.tolerance_lifted); if the header and signature checks
then pass it is `verified`, with `timestamp_ok` false. Conditions and templates are
rendered by rules.fire, in the same forked child as real events (isolation.py).

Each preview forks that child and runs the customer's templates for up to the template
time budget, so previews have their own rate per account
(ONEPING_INBOUND_PREVIEW_RATE_PER_ACCOUNT, bursts of …_BURST_PER_ACCOUNT): 429
rate_limited, which the API answers in the error shape and the dashboard on its form.
allowed_ips is not checked: the account's admin pastes the delivery, not the sender.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from oneping import ratelimit
from oneping.errors import ServiceError
from webhooks.inbound import event_types, rules
from webhooks.inbound import payload as payloads
from webhooks.inbound.receiving import kept_headers
from webhooks.inbound.schemes import SCHEMES, VerificationFailed
from webhooks.inbound.schemes.base import tolerance_lifted
from webhooks.inbound.templates import RenderError
from webhooks.models import InboundEndpoint

# The preview's headers, as pasted: bounded like a real request's (the body cap is
# receiving.MAX_BODY_BYTES); InboundPreviewRequestSerializer checks both.
MAX_HEADERS = 100
MAX_HEADER_VALUE = 8192


def preview(endpoint: InboundEndpoint, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """{"verified", "failure", "reason", "timestamp_ok", "event_type", "immediate_answer",
    "messages", "errors"} for this delivery at this endpoint (see the module docstring);
    ServiceError rate_limited (429) past the account's preview rate."""
    _ensure_within_rate(endpoint)
    lowered = {name.strip().lower(): value for name, value in headers.items()}
    scheme = SCHEMES[endpoint.verification]
    options = scheme.options(endpoint)
    answer: dict[str, Any] = {
        "verified": True,
        "failure": None,
        "reason": "",
        "timestamp_ok": True,
        "event_type": None,
        "immediate_answer": None,
        "messages": [],
        "errors": [],
    }
    failure = _verification_failure(scheme, body, lowered, endpoint.secret, options)
    if failure is not None:
        stale, failed = failure
        answer["timestamp_ok"] = stale is None
        if failed is None:
            answer["reason"] = str(stale)
        else:
            answer.update(verified=False, failure=failed.check, reason=str(failed))
            return answer

    content_type = lowered.get("content-type", "")
    payload = payloads.parse(body, content_type)
    immediate = scheme.immediate_answer(lowered, payload)
    if immediate is not None:
        answer["immediate_answer"] = immediate
        return answer
    kept = kept_headers(dict(lowered), scheme.credential_headers(options))
    received_type = event_types.at_receipt(
        endpoint.event_type_from, scheme.event_type(lowered, payload), kept, payload
    )
    answer["event_type"] = received_type
    try:
        event_type = event_types.for_rules(endpoint.event_type_from, received_type, kept, payload)
        answer["event_type"] = event_type
        fired = rules.fire(endpoint.rules, endpoint.rule_mode, payload, event_type)
    except RenderError as exc:
        answer["errors"].append(f"{exc.code}: {exc}" if exc.code else str(exc))
        return answer
    answer["messages"] = [
        {
            "rule": rule["id"],
            "channels": request["channels"],
            "fallback_channels": request["fallback_channels"],
            "recipient": request["recipient"],
            "subject": request.get("subject", ""),
            "message": request["message"],
            "metadata": request.get("metadata", {}),
        }
        for rule, request in fired
    ]
    return answer


def _ensure_within_rate(endpoint: InboundEndpoint) -> None:
    limit = ratelimit.Limit(
        "account",
        f"inbound-preview:account:{endpoint.account_id}",
        settings.ONEPING_INBOUND_PREVIEW_RATE_PER_ACCOUNT,
        settings.ONEPING_INBOUND_PREVIEW_BURST_PER_ACCOUNT,
    )
    refusal = ratelimit.first_exceeded([limit])
    if refusal is not None:
        raise ServiceError(
            "rate_limited",
            refusal.message("Your account may run previews"),
            status=429,
            details=refusal.details,
            headers=refusal.headers,
        )


def _verification_failure(
    scheme: Any, body: bytes, headers: dict[str, str], secret: str, options: dict[str, Any]
) -> tuple[VerificationFailed | None, VerificationFailed | None] | None:
    """None when the delivery verifies; else (the stale-timestamp failure or None, the
    failure that refuses it or None). Past a stale timestamp the other checks still run:
    a stale delivery with a wrong signature is refused for its signature (the secret)."""
    try:
        scheme.verify(body, headers, secret, **options)
    except VerificationFailed as exc:
        if exc.check != "timestamp":
            return None, exc
        stale = exc
    else:
        return None
    try:
        with tolerance_lifted():
            scheme.verify(body, headers, secret, **options)
    except VerificationFailed as exc:
        return stale, exc  # a timestamp that is no number stays a timestamp failure
    return stale, None
