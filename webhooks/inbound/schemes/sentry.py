"""Sentry integration platform: `Sentry-Hook-Signature`, the hex HMAC-SHA256 of the body
keyed with the integration's client secret; `Sentry-Hook-Resource` names the resource
and the body's `action` what happened
(https://docs.sentry.io/organization/integrations/integration-platform/webhooks/)."""

import json

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    check_body_hmac,
    curl_header,
    hex_hmac_of_body,
)


class Sentry(Scheme):
    name = "sentry"
    label = "Sentry"
    sample_event = "issue.created"
    presets = (
        Preset(
            key="sentry",
            name="Sentry: new issues and alerts",
            position=42,
            # No event_type_from: the scheme already gives "issue.created" (the resource
            # header + the body's action). The template that says the same
            # ({{ headers['sentry-hook-resource'] }}.{{ action }}) would cost a render in
            # the worker for each event and fail a delivery without an action, where the
            # scheme falls back to the resource alone.
            rules=(
                {
                    "event": "issue.created",
                    "subject": "New Sentry issue: {{ data.issue.title }}",
                    "message": "New issue in {{ data.issue.project.slug }}: "
                    "{{ data.issue.title }} ({{ data.issue.culprit }}) {{ data.issue.web_url }}",
                },
                {
                    "event": "event_alert.triggered",
                    "subject": "Sentry alert: {{ data.triggered_rule }}",
                    "message": "Alert {{ data.triggered_rule }}: {{ data.event.title }} "
                    "{{ data.event.web_url }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        check_body_hmac(headers, "Sentry-Hook-Signature", secret, body)

    def event_type(self, headers, payload) -> str:
        # "issue" + "created": the resource header and the body's action.
        resource = headers.get("sentry-hook-resource", "")
        action = payload.get("action") if isinstance(payload, dict) else None
        return f"{resource}.{action}" if resource and isinstance(action, str) else resource

    # The duplicate key stays the body's hash: Sentry does not document whether
    # Request-ID is kept when it sends a webhook again.

    def sample_body(self, event_type: str) -> str:
        issue = {
            "title": "ZeroDivisionError: division by zero",
            "culprit": "app.views in index",
            "web_url": "https://sentry.io/organizations/acme/issues/1/",
            "project": {"slug": "app"},
        }
        return json.dumps({"action": event_type.partition(".")[2], "data": {"issue": issue}})

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=(hex_hmac_of_body(),),
            headers=(
                curl_header("Sentry-Hook-Resource", event_type.partition(".")[0]),
                curl_header("Sentry-Hook-Timestamp", "$(date +%s)", literal=False),
                curl_header("Sentry-Hook-Signature", "$SIG", literal=False),
            ),
        )
