"""Stripe: https://docs.stripe.com/webhooks#verify-manually: `t=…,v1=…` (any v1 may match),
HMAC-SHA256 of "{t}.{body}" keyed with the secret as given (not base64-decoded)."""

import json

from webhooks.inbound.schemes.base import (
    HEX_HMAC,
    CurlSigning,
    Preset,
    Scheme,
    VerificationFailed,
    check_age,
    curl_header,
    equal,
    hmac_sha256,
    mismatch,
    require,
)


class Stripe(Scheme):
    name = "stripe"
    label = "Stripe"
    sample_event = "payment_intent.succeeded"
    presets = (
        Preset(
            key="stripe-payments",
            name="Stripe: payments succeeded and charges failed",
            position=30,
            # The event object's type: https://docs.stripe.com/api/events/object
            settings=(("event_type_from", {"path": "type"}),),
            rules=(
                {
                    "event": "payment_intent.succeeded",
                    "subject": "Payment received",
                    "message": "Payment of "
                    "{{ '%.2f' | format(data.object.amount_received / 100) }} "
                    "{{ data.object.currency | upper }} succeeded ({{ data.object.id }})",
                },
                {
                    "event": "charge.failed",
                    "subject": "Charge failed",
                    "message": "Charge of {{ '%.2f' | format(data.object.amount / 100) }} "
                    "{{ data.object.currency | upper }} failed: "
                    "{{ data.object.failure_message or 'no reason given' }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        header = require(headers, "Stripe-Signature")
        parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
        timestamps = [value for key, value in parts if key.strip() == "t"]
        signatures = [value for key, value in parts if key.strip() == "v1"]
        if not timestamps:
            raise VerificationFailed("Stripe-Signature has no t= timestamp.")
        if not signatures:
            raise VerificationFailed("Stripe-Signature has no v1= signature.")
        timestamp = check_age(timestamps[0])
        expected = hmac_sha256(secret.encode(), f"{timestamp}.".encode() + body).hex()
        if not any(equal(expected, given) for given in signatures):
            raise mismatch()

    def dedup_key(self, headers, payload, body) -> str:
        if isinstance(payload, dict) and isinstance(payload.get("id"), str):
            return payload["id"]
        return super().dedup_key(headers, payload, body)

    def sample_body(self, event_type: str) -> str:
        payment = {"id": "pi_curl", "amount": 1999, "amount_received": 1999, "currency": "eur"}
        return json.dumps({"id": "evt_curl", "type": event_type, "data": {"object": payment}})

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=("TS=$(date +%s)", f"SIG=$(printf '%s' \"$TS.$BODY\" | {HEX_HMAC})"),
            headers=(curl_header("Stripe-Signature", "t=$TS,v1=$SIG", literal=False),),
        )
