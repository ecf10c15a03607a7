"""GitLab: the secret token in `X-Gitlab-Token`, in plain text
(https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token),
and, where a signing token is set, Standard Webhooks headers (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64>` over "{id}.{timestamp}.{body}"),
checked too when present (https://gitlab.com/gitlab-org/gitlab/-/merge_requests/230944).
One endpoint secret serves both: give GitLab the same `whsec_…` value as secret token and
signing token.
"""

import json

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    VerificationFailed,
    curl_header,
    equal,
)
from webhooks.inbound.schemes.standard_webhooks import StandardWebhooks

SIGNED = ("webhook-id", "webhook-timestamp", "webhook-signature")


class GitLab(Scheme):
    name = "gitlab"
    label = "GitLab"
    sample_event = "Push Hook"
    presets = (
        Preset(
            key="gitlab",
            name="GitLab: pushes and merge requests",
            position=21,
            settings=(("event_type_from", {"header": "X-Gitlab-Event"}),),
            rules=(
                {
                    "event": "Push Hook",
                    "subject": "Push to {{ project.path_with_namespace }}",
                    "message": "{{ user_name }} pushed {{ total_commits_count }} commit(s) to "
                    "{{ project.path_with_namespace }} ({{ ref }})",
                },
                {
                    "event": "Merge Request Hook",
                    "subject": "MR !{{ object_attributes.iid }} {{ object_attributes.action }}",
                    "message": "Merge request !{{ object_attributes.iid }} "
                    "{{ object_attributes.action }} in {{ project.path_with_namespace }}: "
                    "{{ object_attributes.title }} by {{ user.username }} "
                    "{{ object_attributes.url }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        token = headers.get("x-gitlab-token", "").strip()
        signed = any(headers.get(name) for name in SIGNED)
        if not token and not signed:
            raise VerificationFailed(
                "The X-Gitlab-Token header is missing (set the webhook's secret token).",
                check="header",
            )
        if token and not equal(secret, token):
            raise VerificationFailed("X-Gitlab-Token is not the endpoint's secret.")
        if signed:
            StandardWebhooks().verify(body, headers, secret)

    def event_type(self, headers, payload) -> str:
        # "Push Hook", "Merge Request Hook", …: the header every GitLab webhook carries.
        return headers.get("x-gitlab-event", "")

    def dedup_key(self, headers, payload, body) -> str:
        # Idempotency-Key is the same on every retry of a delivery (GitLab 17.4 and later),
        # X-Gitlab-Event-UUID before it:
        # https://docs.gitlab.com/user/project/integrations/webhooks/#delivery-headers
        return (
            headers.get("idempotency-key")
            or headers.get("x-gitlab-event-uuid")
            or super().dedup_key(headers, payload, body)
        )

    def sample_body(self, event_type: str) -> str:
        return json.dumps(
            {
                "object_kind": "push",
                "ref": "refs/heads/main",
                "user_name": "Jane",
                "total_commits_count": 1,
                "project": {"path_with_namespace": "acme/app"},
            }
        )

    def curl_signing(self, event_type, options) -> CurlSigning:
        return CurlSigning(
            headers=(
                curl_header("X-Gitlab-Event", event_type),
                curl_header("X-Gitlab-Event-UUID", "curl-$(date +%s)", literal=False),
                curl_header("X-Gitlab-Token", "$SECRET", literal=False),
            )
        )
