"""WooCommerce: `X-WC-Webhook-Signature`, the base64 HMAC-SHA256 of the body keyed with
the webhook's secret; the topic in `X-WC-Webhook-Topic`
(https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks).

When a webhook is created or activated WooCommerce posts an unsigned `webhook_id=<N>`
form and keeps the webhook only if it is answered with a 2xx: that ping is answered 200
and stored nowhere (WC_Webhook::deliver_ping in woocommerce/includes/class-wc-webhook.php).
"""

import json
import re
from collections.abc import Mapping

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    check_body_hmac,
    curl_header,
)

PING = re.compile(rb"webhook_id=\d{1,20}")


def is_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    return not headers.get("x-wc-webhook-signature") and PING.fullmatch(body.strip()) is not None


class WooCommerce(Scheme):
    name = "woocommerce"
    label = "WooCommerce"
    sample_event = "order.created"
    presets = (
        Preset(
            key="woocommerce-orders",
            name="WooCommerce: new orders",
            position=11,
            settings=(("event_type_from", {"header": "X-WC-Webhook-Topic"}),),
            rules=(
                {
                    "event": "order.created",
                    "subject": "New order #{{ number }}",
                    "message": "New order #{{ number }}: {{ total }} {{ currency }} from "
                    "{{ billing.first_name }} {{ billing.last_name }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        if is_ping(body, headers):
            return  # answered by immediate_answer, never stored
        check_body_hmac(headers, "X-WC-Webhook-Signature", secret, body, encoding="base64")

    def immediate_answer(self, headers, payload):
        # Only an unsigned ping gets here without a signature (verify, is_ping).
        unsigned = not headers.get("x-wc-webhook-signature")
        if unsigned and isinstance(payload, dict) and set(payload) == {"webhook_id"}:
            return {"received": True, "ping": True}
        return None

    def event_type(self, headers, payload) -> str:
        return headers.get("x-wc-webhook-topic", "")

    # The duplicate key stays the body's hash: X-WC-Webhook-Delivery-ID is a hash of the
    # webhook id and the current second, so two orders within a second would collide.

    def sample_body(self, event_type: str) -> str:
        return json.dumps(
            {
                "id": 727,
                "number": "727",
                "total": "29.35",
                "currency": "EUR",
                "billing": {"first_name": "John", "last_name": "Doe"},
            }
        )

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=(
                'SIG=$(printf \'%s\' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary'
                " | base64)",
            ),
            headers=(
                curl_header("X-WC-Webhook-Topic", event_type),
                curl_header("X-WC-Webhook-Signature", "$SIG", literal=False),
            ),
        )
