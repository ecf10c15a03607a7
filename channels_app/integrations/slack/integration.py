"""Slack incoming webhooks: https://api.slack.com/messaging/webhooks"""

from typing import Any

import requests

from channels_app.integrations.base import (
    Outgoing,
    SendResult,
    TransportError,
    excerpt,
)
from channels_app.integrations.simulator.magic import CHAT
from channels_app.integrations.webhook_url import (
    WebhookUrlIntegration,
    post_webhook,
    webhook_fields,
)
from oneping.http import parse_retry_after


class SlackIntegration(WebhookUrlIntegration):
    kind = "slack"
    title = "Slack"
    simulated_as = CHAT
    setup_help = (
        "In Slack: *Apps → Incoming Webhooks → Add to Slack*, pick a channel and copy "
        "the URL (`https://hooks.slack.com/services/…`)."
    )
    form_fields, contact_field = webhook_fields(
        "Incoming webhook URL",
        "A Slack incoming webhook URL for this contact.",
        "Slack's 1 a second per webhook.",
    )
    # https://api.slack.com/methods/chat.postMessage#truncating ("truncates … over 40,000")
    message_limit = 40000
    # "1 per second" per incoming webhook, short bursts allowed:
    # https://api.slack.com/apis/rate-limits#incoming-webhooks — we allow none.
    default_rate = 1.0

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        url = outgoing.target or config["webhook_url"]
        response = post_webhook(url, {"text": outgoing.text})
        return self.classify(response)

    @staticmethod
    def classify(response: requests.Response) -> SendResult:
        """https://api.slack.com/messaging/webhooks#handling_errors

        200 "ok" is success. 400 (invalid_payload), 403 (action_prohibited, invalid_token),
        404 (no_service, channel_not_found: the webhook was deleted) and 410
        (channel_is_archived) are permanent. 429 is rate limiting with a Retry-After header
        (https://api.slack.com/docs/rate-limits) and 5xx are Slack's own trouble: transient.
        """
        if response.status_code == 200:
            return SendResult(response_excerpt=excerpt(response))
        reason = f"Slack answered {response.status_code}: {response.text[:200] or response.reason}"
        if response.status_code == 429:
            raise TransportError(
                reason,
                permanent=False,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                response_excerpt=excerpt(response),
            )
        raise TransportError(
            reason, permanent=response.status_code < 500, response_excerpt=excerpt(response)
        )
