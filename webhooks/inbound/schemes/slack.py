"""Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` with the
app's signing secret, `X-Slack-Request-Timestamp` within five minutes
(https://api.slack.com/authentication/verifying-requests-from-slack). The Events API's
`url_verification` request is answered with its challenge at once, or Slack does not save
the URL (https://api.slack.com/events/url_verification)."""

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


class Slack(Scheme):
    name = "slack"
    label = "Slack (Events API)"
    sample_event = "app_mention"
    presets = (
        Preset(
            key="slack-events",
            name="Slack: mentions of your app",
            position=43,
            # The inner event's type (app_mention), not the envelope's (event_callback):
            # https://api.slack.com/apis/events-api#callback-field
            settings=(("event_type_from", {"path": "event.type"}),),
            rules=(
                {
                    "event": "app_mention",
                    "subject": "Mentioned in Slack",
                    "message": "<@{{ event.user }}> mentioned the app in <#{{ event.channel }}>:"
                    " {{ event.text }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        given = require(headers, "X-Slack-Signature")
        if not given.startswith("v0="):
            raise VerificationFailed("X-Slack-Signature must start with 'v0='.")
        timestamp = check_age(require(headers, "X-Slack-Request-Timestamp"))
        expected = "v0=" + hmac_sha256(secret.encode(), f"v0:{timestamp}:".encode() + body).hex()
        if not equal(expected, given):
            raise mismatch()

    def immediate_answer(self, headers, payload):
        if isinstance(payload, dict) and payload.get("type") == "url_verification":
            challenge = payload.get("challenge")
            return {"challenge": challenge if isinstance(challenge, str) else ""}
        return None

    def event_type(self, headers, payload) -> str:
        # An event_callback wraps the event; its inner type is what rules match.
        if isinstance(payload, dict):
            inner = payload.get("event")
            if isinstance(inner, dict) and isinstance(inner.get("type"), str):
                return inner["type"]
        return super().event_type(headers, payload)

    def dedup_key(self, headers, payload, body) -> str:
        # event_id is kept on Slack's retries (X-Slack-Retry-Num counts them):
        # https://api.slack.com/apis/connections/events-api#retries
        if isinstance(payload, dict) and isinstance(payload.get("event_id"), str):
            return payload["event_id"]
        return super().dedup_key(headers, payload, body)

    def sample_body(self, event_type: str) -> str:
        event = {"type": event_type, "user": "U123", "channel": "C123", "text": "hello oneping"}
        return json.dumps({"type": "event_callback", "event_id": "Ev_curl", "event": event})

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=("TS=$(date +%s)", f"SIG=$(printf '%s' \"v0:$TS:$BODY\" | {HEX_HMAC})"),
            headers=(
                curl_header("X-Slack-Request-Timestamp", "$TS", literal=False),
                curl_header("X-Slack-Signature", "v0=$SIG", literal=False),
            ),
        )
