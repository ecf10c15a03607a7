"""The Stripe API client: one per call site, never the library's global `stripe.api_key`
(mutable module state, shared by every thread of a server).

Stripe's library pins the API version it was generated for (stripe.api_version); the
webhook endpoint in Stripe's dashboard should be created at the same version so events
have the shapes this code reads (README, "Billing").
"""

import stripe
from django.conf import settings

from oneping.errors import ServiceError

# Seconds for one request to Stripe. A dashboard click or an API call waits on it, so it
# is short; Stripe answers these in well under a second.
TIMEOUT_SECONDS = 10
# The library retries connection errors and 409/429/5xx with Idempotency-Key headers it
# adds itself (https://docs.stripe.com/error-low-level#idempotency); one retry is enough
# for a person waiting on the answer.
MAX_NETWORK_RETRIES = 1


def configured() -> bool:
    """Whether billing is on: without STRIPE_SECRET_KEY staff change plans in the admin."""
    return bool(settings.STRIPE_SECRET_KEY)


def client() -> stripe.StripeClient:
    if not configured():
        raise BillingNotConfigured()
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        max_network_retries=MAX_NETWORK_RETRIES,
    )


class BillingNotConfigured(ServiceError):
    def __init__(self):
        super().__init__(
            "billing_not_configured",
            "Billing is not configured on this server (no STRIPE_SECRET_KEY); "
            "staff change plans in the admin.",
            status=503,
        )


class BillingUnavailable(ServiceError):
    """Stripe refused or could not be reached: 502, in the documented error shape. The
    message is ours and Stripe's error code only: Stripe's own message may quote the
    request (an invalid key is echoed partly), and nothing here may name the secret key."""

    def __init__(self, exc: stripe.StripeError):
        code = getattr(exc, "code", None) or type(exc).__name__
        super().__init__(
            "billing_unavailable",
            "Stripe could not be reached or refused the request; try again in a moment.",
            status=502,
            details={"stripe_error": str(code), "http_status": exc.http_status},
        )
