"""Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the body>`
(https://www.typeform.com/developers/webhooks/secure-your-webhooks/)."""

import json

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    check_body_hmac,
    curl_header,
)


class Typeform(Scheme):
    name = "typeform"
    label = "Typeform"
    sample_event = "form_response"
    presets = (
        Preset(
            key="typeform",
            name="Typeform: new responses",
            position=60,
            settings=(("event_type_from", {"path": "event_type"}),),
            rules=(
                {
                    "event": "form_response",
                    "subject": "New response to {{ form_response.definition.title }}",
                    "message": "New response to {{ form_response.definition.title }} "
                    "({{ form_response.answers | length }} answer(s)) at "
                    "{{ form_response.submitted_at }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        check_body_hmac(
            headers, "Typeform-Signature", secret, body, prefix="sha256=", encoding="base64"
        )

    def event_type(self, headers, payload) -> str:
        if isinstance(payload, dict) and isinstance(payload.get("event_type"), str):
            return payload["event_type"]
        return ""

    def dedup_key(self, headers, payload, body) -> str:
        # event_id is the same when Typeform retries a delivery.
        if isinstance(payload, dict) and isinstance(payload.get("event_id"), str):
            return payload["event_id"]
        return super().dedup_key(headers, payload, body)

    def sample_body(self, event_type: str) -> str:
        response = {
            "definition": {"title": "Contact us"},
            "answers": [{"type": "text", "text": "Hello from curl"}],
            "submitted_at": "2026-12-07T12:00:00Z",
        }
        return json.dumps({"event_id": "curl", "event_type": event_type, "form_response": response})

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=(
                'SIG=$(printf \'%s\' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary'
                " | base64)",
            ),
            headers=(curl_header("Typeform-Signature", "sha256=$SIG", literal=False),),
        )
