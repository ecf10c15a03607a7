"""PagerDuty v3 webhooks: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of
the body; several signatures while a secret is rotated, any may match
(https://developer.pagerduty.com/docs/webhooks/webhook-signatures/)."""

import json

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    VerificationFailed,
    curl_header,
    equal,
    hex_hmac_of_body,
    hmac_sha256,
    mismatch,
    require,
)


class PagerDuty(Scheme):
    name = "pagerduty"
    label = "PagerDuty"
    sample_event = "incident.triggered"
    presets = (
        Preset(
            key="pagerduty",
            name="PagerDuty: incidents triggered and resolved",
            position=44,
            settings=(("event_type_from", {"path": "event.event_type"}),),
            rules=(
                {
                    "event": "incident.triggered",
                    "subject": "Incident #{{ event.data.number }} triggered",
                    "message": "Incident #{{ event.data.number }} triggered on "
                    "{{ event.data.service.summary }}: {{ event.data.title }} "
                    "({{ event.data.urgency }} urgency) {{ event.data.html_url }}",
                },
                {
                    "event": "incident.resolved",
                    "subject": "Incident #{{ event.data.number }} resolved",
                    "message": "Incident #{{ event.data.number }} resolved on "
                    "{{ event.data.service.summary }}: {{ event.data.title }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        header = require(headers, "X-PagerDuty-Signature")
        signatures = [part.strip() for part in header.split(",") if part.strip()]
        if not any(given.startswith("v1=") for given in signatures):
            raise VerificationFailed("X-PagerDuty-Signature has no v1= signature.")
        expected = "v1=" + hmac_sha256(secret.encode(), body).hex()
        if not any(equal(expected, given) for given in signatures):
            raise mismatch()

    def event_type(self, headers, payload) -> str:
        event = payload.get("event") if isinstance(payload, dict) else None
        if isinstance(event, dict) and isinstance(event.get("event_type"), str):
            return event["event_type"]
        return ""

    def dedup_key(self, headers, payload, body) -> str:
        # The event's id is the same on every retry of its delivery.
        event = payload.get("event") if isinstance(payload, dict) else None
        if isinstance(event, dict) and isinstance(event.get("id"), str):
            return event["id"]
        return super().dedup_key(headers, payload, body)

    def sample_body(self, event_type: str) -> str:
        data = {
            "number": 1,
            "title": "Checkout is down",
            "urgency": "high",
            "html_url": "https://acme.pagerduty.com/incidents/Q1",
            "service": {"summary": "Checkout"},
        }
        return json.dumps({"event": {"id": "curl", "event_type": event_type, "data": data}})

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=(hex_hmac_of_body(),),
            headers=(curl_header("X-PagerDuty-Signature", "v1=$SIG", literal=False),),
        )
