"""Bitbucket Cloud: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`
(https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks),
the event in `X-Event-Key` (https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/).
"""

import json

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    check_body_hmac,
    curl_header,
    hex_hmac_of_body,
)


class Bitbucket(Scheme):
    name = "bitbucket"
    label = "Bitbucket"
    sample_event = "repo:push"
    presets = (
        Preset(
            key="bitbucket",
            name="Bitbucket: pushes and pull requests",
            position=22,
            settings=(("event_type_from", {"header": "X-Event-Key"}),),
            rules=(
                {
                    "event": "repo:push",
                    "subject": "Push to {{ repository.full_name }}",
                    "message": "{{ actor.display_name }} pushed to {{ repository.full_name }} "
                    "({{ push.changes | length }} change(s))",
                },
                {
                    "event": "pullrequest:created",
                    "subject": "PR #{{ pullrequest.id }} opened",
                    "message": "Pull request #{{ pullrequest.id }} opened in "
                    "{{ repository.full_name }}: {{ pullrequest.title }} by "
                    "{{ actor.display_name }} {{ pullrequest.links.html.href }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        check_body_hmac(headers, "X-Hub-Signature", secret, body, prefix="sha256=")

    def event_type(self, headers, payload) -> str:
        return headers.get("x-event-key", "")

    # The duplicate key stays the body's hash: Bitbucket does not document whether
    # X-Request-UUID survives a retry, and its payloads differ between events.

    def sample_body(self, event_type: str) -> str:
        return json.dumps(
            {
                "actor": {"display_name": "Jane"},
                "repository": {"full_name": "acme/app"},
                "push": {"changes": [{"new": {"name": "main"}}]},
            }
        )

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=(hex_hmac_of_body(),),
            headers=(
                curl_header("X-Event-Key", event_type),
                curl_header("X-Hub-Signature", "sha256=$SIG", literal=False),
            ),
        )
