"""GitHub: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries"""

import json

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    check_body_hmac,
    curl_header,
    hex_hmac_of_body,
)


class GitHub(Scheme):
    name = "github"
    label = "GitHub"
    sample_event = "push"
    presets = (
        Preset(
            key="github",
            name="GitHub: pushes and pull requests",
            position=20,
            # Shown on the endpoint, where the customer can change it (as the scheme does).
            settings=(("event_type_from", {"header": "X-GitHub-Event"}),),
            rules=(
                {
                    "event": "push",
                    "subject": "Push to {{ repository.full_name }}",
                    "message": "{{ pusher.name }} pushed {{ commits | length }} commit(s) to "
                    "{{ repository.full_name }} ({{ ref }}): {{ compare }}",
                },
                {
                    "event": "pull_request",
                    "subject": "PR #{{ number }} {{ action }}",
                    "message": "Pull request #{{ number }} {{ action }} in "
                    "{{ repository.full_name }}: {{ pull_request.title }} "
                    "by {{ pull_request.user.login }} {{ pull_request.html_url }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        check_body_hmac(headers, "X-Hub-Signature-256", secret, body, prefix="sha256=")

    def event_type(self, headers, payload) -> str:
        return headers.get("x-github-event", "")

    def dedup_key(self, headers, payload, body) -> str:
        return headers.get("x-github-delivery") or super().dedup_key(headers, payload, body)

    def sample_body(self, event_type: str) -> str:
        # The event type travels in X-GitHub-Event, not in the body.
        return json.dumps(
            {
                "ref": "refs/heads/main",
                "compare": "https://github.com/acme/app/compare/1a2b...3c4d",
                "repository": {"full_name": "acme/app"},
                "pusher": {"name": "jane"},
                "commits": [{"id": "3c4d", "message": "Try oneping"}],
            }
        )

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            lines=(hex_hmac_of_body(),),
            headers=(
                curl_header("X-GitHub-Event", event_type),
                curl_header("X-GitHub-Delivery", "curl-$(date +%s)", literal=False),
                curl_header("X-Hub-Signature-256", "sha256=$SIG", literal=False),
            ),
        )
