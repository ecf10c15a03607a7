"""Discord webhooks: https://discord.com/developers/docs/resources/webhook#execute-webhook"""

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from channels_app.integrations.base import (
    Outgoing,
    SendResult,
    TransportError,
    excerpt,
    json_object,
)
from channels_app.integrations.webhook_url import (
    WebhookUrlIntegration,
    post_webhook,
    webhook_fields,
)
from oneping.http import parse_retry_after


def with_wait(url: str) -> str:
    """?wait=true makes Discord answer with the created message (and its id)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "wait"] + [("wait", "true")]
    return urlunsplit(parts._replace(query=urlencode(query)))


class DiscordIntegration(WebhookUrlIntegration):
    kind = "discord"
    title = "Discord"
    setup_help = (
        "In Discord: *Channel settings → Integrations → Webhooks → New webhook → Copy "
        "webhook URL* (`https://discord.com/api/webhooks/…`)."
    )
    form_fields, contact_field = webhook_fields(
        "Webhook URL", "A Discord webhook URL for this contact."
    )
    message_limit = 2000  # content: "up to 2000 characters" (execute-webhook JSON params)

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        url = outgoing.target or config["webhook_url"]
        response = post_webhook(with_wait(url), {"content": outgoing.text})
        return self.classify(response)

    @staticmethod
    def classify(response: requests.Response) -> SendResult:
        """https://discord.com/developers/docs/topics/rate-limits and
        https://discord.com/developers/docs/topics/opcodes-and-status-codes

        2xx is success (with wait=true the body is the message, with its id). 429 carries
        `retry_after` (seconds, a float) in the body and a Retry-After header: transient, as
        are 5xx. 400 (bad body), 401/403 (bad token) and 404 (Unknown Webhook: deleted) are
        permanent.
        """
        body = json_object(response)
        if 200 <= response.status_code < 300:
            return SendResult(
                provider_message_id=str(body.get("id", "")), response_excerpt=excerpt(response)
            )
        reason = (
            f"Discord answered {response.status_code}: "
            f"{body.get('message') or response.text[:200] or response.reason}"
        )
        if response.status_code == 429:
            retry_after = body.get("retry_after")
            if not isinstance(retry_after, int | float):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise TransportError(
                reason, permanent=False, retry_after=retry_after, response_excerpt=excerpt(response)
            )
        raise TransportError(
            reason, permanent=response.status_code < 500, response_excerpt=excerpt(response)
        )
