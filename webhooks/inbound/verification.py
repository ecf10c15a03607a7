"""How each kind of sender signs its requests, and how we check it.

Every scheme checks the raw bytes with a constant-time compare, and raises
VerificationFailed with a reason the customer can act on ("header missing", "timestamp
outside tolerance", …). Schemes never raise anything else, whatever the headers hold.
"""

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

from webhooks.signing import SECRET_PREFIX, standard_signature

TOLERANCE_SECONDS = 300  # Standard Webhooks' and Stripe's default window


class VerificationFailed(Exception):
    pass


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _equal(expected: str, given: str) -> bool:
    # compare_digest refuses non-ASCII str; header values are the sender's to choose.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def _require(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise VerificationFailed(f"The {name} header is missing.")
    return value


def _check_age(timestamp: str, now: float | None = None) -> int:
    # Unix seconds in ASCII digits only: int() would also take "١٢", "1_0" and numbers too
    # large to subtract from a float (OverflowError, a 500).
    digits = timestamp.strip()
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 15):
        raise VerificationFailed(f"The timestamp {timestamp[:40]!r} is not a number.")
    moment = int(digits)
    drift = (now or time.time()) - moment
    if abs(drift) > TOLERANCE_SECONDS:
        raise VerificationFailed(
            f"The timestamp is {abs(int(drift))} s {'old' if drift > 0 else 'in the future'}; "
            f"the tolerance is {TOLERANCE_SECONDS} s (is the sender's clock right, or is "
            "this a replay?)."
        )
    return moment


def _mismatch() -> VerificationFailed:
    return VerificationFailed(
        "Signature mismatch: the body was changed, or the secret is not the one the sender uses."
    )


class Scheme:
    name = ""

    def verify(self, body: bytes, headers: Mapping[str, str], secret: str, **options: Any) -> None:
        raise NotImplementedError

    def event_type(self, headers: Mapping[str, str], payload: Any) -> str:
        if isinstance(payload, dict):
            for field in ("event", "type"):
                if isinstance(payload.get(field), str):
                    return payload[field]
        return ""

    def dedup_key(self, headers: Mapping[str, str], payload: Any, body: bytes) -> str:
        return "sha256:" + hashlib.sha256(body).hexdigest()


class NoVerification(Scheme):
    name = "none"

    def verify(self, body, headers, secret, **options) -> None:
        return None


class HmacSha256(Scheme):
    """Hex HMAC-SHA256 of the body in a header of the customer's choice (a sha256= prefix is
    accepted, as many senders add one)."""

    name = "hmac_sha256"

    def verify(self, body, headers, secret, *, signature_header: str = "X-Webhook-Signature"):
        given = _require(headers, signature_header).removeprefix("sha256=")
        expected = _hmac(secret.encode(), body).hex()
        if not _equal(expected, given.lower()):
            raise _mismatch()


class StandardWebhooks(Scheme):
    """https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md"""

    name = "standard_webhooks"

    def verify(self, body, headers, secret, **options) -> None:
        if secret.startswith("v1,"):
            raise VerificationFailed(
                "The secret looks like a signature (it starts with 'v1,'): paste the "
                "endpoint secret, which starts with 'whsec_'."
            )
        try:
            base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raise VerificationFailed(
                "The secret is not valid base64 after its 'whsec_' prefix."
            ) from None
        event_id = _require(headers, "webhook-id")
        timestamp = _check_age(_require(headers, "webhook-timestamp"))
        signatures = _require(headers, "webhook-signature").split(" ")
        expected = standard_signature(secret, event_id, timestamp, body)
        if not any(_equal(expected, given) for given in signatures):
            raise _mismatch()

    def dedup_key(self, headers, payload, body) -> str:
        return headers.get("webhook-id") or super().dedup_key(headers, payload, body)


class GitHub(Scheme):
    """https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries"""

    name = "github"

    def verify(self, body, headers, secret, **options) -> None:
        given = _require(headers, "X-Hub-Signature-256")
        if not given.startswith("sha256="):
            raise VerificationFailed("X-Hub-Signature-256 must start with 'sha256='.")
        expected = "sha256=" + _hmac(secret.encode(), body).hex()
        if not _equal(expected, given):
            raise _mismatch()

    def event_type(self, headers, payload) -> str:
        return headers.get("x-github-event", "")

    def dedup_key(self, headers, payload, body) -> str:
        return headers.get("x-github-delivery") or super().dedup_key(headers, payload, body)


class Stripe(Scheme):
    """https://docs.stripe.com/webhooks#verify-manually: `t=…,v1=…` (any v1 may match),
    HMAC-SHA256 of "{t}.{body}" keyed with the secret as given (not base64-decoded)."""

    name = "stripe"

    def verify(self, body, headers, secret, **options) -> None:
        header = _require(headers, "Stripe-Signature")
        parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
        timestamps = [value for key, value in parts if key.strip() == "t"]
        signatures = [value for key, value in parts if key.strip() == "v1"]
        if not timestamps:
            raise VerificationFailed("Stripe-Signature has no t= timestamp.")
        if not signatures:
            raise VerificationFailed("Stripe-Signature has no v1= signature.")
        timestamp = _check_age(timestamps[0])
        expected = _hmac(secret.encode(), f"{timestamp}.".encode() + body).hex()
        if not any(_equal(expected, given) for given in signatures):
            raise _mismatch()

    def dedup_key(self, headers, payload, body) -> str:
        if isinstance(payload, dict) and isinstance(payload.get("id"), str):
            return payload["id"]
        return super().dedup_key(headers, payload, body)


class Shopify(Scheme):
    """https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook"""

    name = "shopify"

    def verify(self, body, headers, secret, **options) -> None:
        given = _require(headers, "X-Shopify-Hmac-Sha256")
        expected = base64.b64encode(_hmac(secret.encode(), body)).decode()
        if not _equal(expected, given):
            raise _mismatch()

    def event_type(self, headers, payload) -> str:
        return headers.get("x-shopify-topic", "")

    def dedup_key(self, headers, payload, body) -> str:
        return headers.get("x-shopify-webhook-id") or super().dedup_key(headers, payload, body)


SCHEMES: dict[str, Scheme] = {
    scheme.name: scheme
    for scheme in (
        NoVerification(),
        HmacSha256(),
        StandardWebhooks(),
        GitHub(),
        Stripe(),
        Shopify(),
    )
}
