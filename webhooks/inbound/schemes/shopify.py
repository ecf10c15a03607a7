"""Shopify: https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook"""

import json

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    check_body_hmac,
    curl_header,
)


class Shopify(Scheme):
    name = "shopify"
    label = "Shopify"
    sample_event = "orders/create"
    presets = (
        Preset(
            key="shopify-orders",
            name="Shopify: new orders",
            position=10,
            settings=(("event_type_from", {"header": "X-Shopify-Topic"}),),
            rules=(
                {
                    "event": "orders/create",
                    "subject": "New order {{ name }}",
                    "message": "New order #{{ order_number }}: {{ total_price }} {{ currency }} "
                    "from {{ customer.first_name }} {{ customer.last_name }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        check_body_hmac(headers, "X-Shopify-Hmac-Sha256", secret, body, encoding="base64")

    def event_type(self, headers, payload) -> str:
        return headers.get("x-shopify-topic", "")

    def dedup_key(self, headers, payload, body) -> str:
        return headers.get("x-shopify-webhook-id") or super().dedup_key(headers, payload, body)

    def sample_body(self, event_type: str) -> str:
        # The event type travels in X-Shopify-Topic, not in the body.
        return json.dumps(
            {
                "name": "#1001",
                "order_number": 1001,
                "total_price": "19.99",
                "currency": "EUR",
                "customer": {"first_name": "Jane", "last_name": "Doe"},
            }
        )

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=(
                'SIG=$(printf \'%s\' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary'
                " | base64)",
            ),
            headers=(
                curl_header("X-Shopify-Topic", event_type),
                curl_header("X-Shopify-Webhook-Id", "curl-$(date +%s)", literal=False),
                curl_header("X-Shopify-Hmac-Sha256", "$SIG", literal=False),
            ),
        )
