"""Discord webhooks: https://discord.com/developers/docs/resources/webhook#execute-webhook"""

import math
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
from channels_app.integrations.simulator.magic import CHAT
from channels_app.integrations.webhook_url import (
    WebhookUrlIntegration,
    post_webhook,
    webhook_fields,
)
from oneping.http import parse_retry_after

# The longest pause a webhook's announced window is believed for: Discord's per-route
# windows last seconds; a longer Reset-After is a broken (or hostile) server's.
MAX_WINDOW_PAUSE = 300.0


def with_wait(url: str) -> str:
    """?wait=true makes Discord answer with the created message (and its id)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "wait"] + [("wait", "true")]
    return urlunsplit(parts._replace(query=urlencode(query)))


class DiscordIntegration(WebhookUrlIntegration):
    kind = "discord"
    title = "Discord"
    simulated_as = CHAT
    setup_help = (
        "In Discord: *Channel settings → Integrations → Webhooks → New webhook → Copy "
        "webhook URL* (`https://discord.com/api/webhooks/…`)."
    )
    form_fields, contact_field = webhook_fields(
        "Webhook URL",
        "A Discord webhook URL for this contact.",
        "2 a second per webhook, and never past the window Discord announces.",
    )
    message_limit = 2000  # content: "up to 2000 characters" (execute-webhook JSON params)
    # Discord publishes no fixed rate and asks clients not to hard-code one but to read
    # each answer's X-RateLimit-* headers
    # (https://discord.com/developers/docs/topics/rate-limits#header-format); webhooks
    # announce 5 requests per 2 s today. 2 a second with no burst keeps within such a
    # window whatever its phase (at most 5 requests in any 2 s, 4 with the store's
    # headroom); a smaller window is followed from its headers (window_used_up).
    default_rate = 2.0

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
                provider_message_id=str(body.get("id", "")),
                response_excerpt=excerpt(response),
                pause_for=window_used_up(response),
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


def window_used_up(response: requests.Response) -> float | None:
    """Seconds until the webhook's rate-limit window resets when the answer says no request
    is left in it (X-RateLimit-Remaining: 0, X-RateLimit-Reset-After: seconds, a float),
    https://discord.com/developers/docs/topics/rate-limits#header-format: the webhook's
    bucket pauses that long, so the next request does not collect a 429. None otherwise."""
    if response.headers.get("X-RateLimit-Remaining", "").strip() != "0":
        return None
    try:
        reset_after = float(response.headers.get("X-RateLimit-Reset-After", ""))
    except ValueError:
        return None
    if not math.isfinite(reset_after) or reset_after <= 0:
        return None
    return min(reset_after, MAX_WINDOW_PAUSE)
