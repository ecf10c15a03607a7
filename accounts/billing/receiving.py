"""POST /billing/stripe/webhook/: verify, store, acknowledge; a worker processes.

As the inbound webhooks (webhooks/inbound/receiving.py): the rate limit first (a flood
costs a cache increment, not an HMAC), then the signature, and only a verified event is
stored, so unsigned junk cannot fill the database. Stripe wants a 2xx quickly and retries
otherwise (https://docs.stripe.com/webhooks#acknowledge-events-immediately), and sends an
event more than once: the unique event id makes a redelivery a 200 that changes nothing.
"""

import json
from dataclasses import dataclass, field
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import StripeEvent
from oneping import queueing, ratelimit
from oneping.api.errors import error_body

PROCESS_STRIPE_EVENT_TASK = "accounts.process_stripe_event"
# Stripe's events are a few kilobytes; the cap only bounds what a stranger can make us read.
MAX_BODY_BYTES = 512 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def receive(body: bytes, signature: str | None) -> Answer:
    if not settings.STRIPE_WEBHOOK_SECRET:
        return _error(
            503,
            "billing_not_configured",
            "Stripe webhooks are not configured on this server (no STRIPE_WEBHOOK_SECRET).",
        )
    refusal = ratelimit.first_exceeded(
        [
            ratelimit.Limit(
                "endpoint",
                "stripe-webhook",
                settings.ONEPING_INBOUND_RATE_PER_ENDPOINT,
                settings.ONEPING_INBOUND_BURST_PER_ENDPOINT,
            )
        ]
    )
    if refusal is not None:
        return _error(
            429,
            "rate_limited",
            refusal.message("This URL accepts"),
            details=refusal.details,
            headers=refusal.headers,
        )
    try:
        # Stripe's own check: HMAC-SHA256 over "<t>.<body>" with the endpoint's secret, and
        # a timestamp within 5 minutes against replays
        # (https://docs.stripe.com/webhooks#verify-events).
        event = stripe.Webhook.construct_event(
            body, signature or "", settings.STRIPE_WEBHOOK_SECRET
        )
    except stripe.SignatureVerificationError:
        return _error(400, "invalid_signature", "The Stripe-Signature header does not verify.")
    except ValueError:
        return _error(400, "invalid_signature", "The body is not a Stripe event.")
    payload = json.loads(body)
    try:
        with transaction.atomic():
            row = StripeEvent.objects.create(
                stripe_id=event.id, type=str(payload.get("type", ""))[:100], payload=payload
            )
            transaction.on_commit(lambda: enqueue(row.pk))
    except IntegrityError:
        return Answer(200, {"received": True, "duplicate": True})
    return Answer(200, {"received": True})


def enqueue(event_id: int) -> None:
    """One task for the stored event (by id, as every task here takes)."""
    queueing.enqueue(PROCESS_STRIPE_EVENT_TASK, [str(event_id)])


def _error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    return Answer(status, error_body(code, message, details), headers or {})
