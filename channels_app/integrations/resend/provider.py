"""Resend (https://resend.com/docs/api-reference/emails/send-email), through anymail's
backend. The API key sends; the webhook's signing secret (`whsec_…`, shown when the
webhook is created in Resend's dashboard) checks what Resend posts, signed the Standard
Webhooks way (https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests).
"""

from typing import Any

from django.conf import settings

from channels_app.integrations.email.esp import AnymailProvider
from channels_app.integrations.email.validation import (
    clean_from_email,
    clean_optional_secret,
    clean_secret,
)


class ResendProvider(AnymailProvider):
    name = "resend"
    title = "Resend"
    backend = "anymail.backends.resend.EmailBackend"
    fields = ("api_key", "webhook_secret", "from_email")
    secrets = ("api_key", "webhook_secret")
    account_fields = ("api_key",)
    # Resend's API takes no tracking option per email: open and click tracking are settings
    # of the sending domain (https://resend.com/docs/dashboard/domains/tracking), and
    # anymail's Resend backend refuses track_opens / track_clicks as unsupported
    # (https://anymail.dev/en/stable/esps/resend/#limitations-and-quirks).
    tracks_per_message = False
    tracking_help = (
        "Resend cannot be asked to track each email: turn open and click tracking on for "
        "your domain in Resend (Domains → your domain → Configuration), and leave this false."
    )

    def clean(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "api_key": clean_secret(config, "api_key", "the Resend API key"),
            # Optional at first: Resend shows it once the webhook exists, and the webhook
            # needs this channel's tracking URL. Until it is set, tracking posts are refused.
            "webhook_secret": clean_optional_secret(config, "webhook_secret"),
            "from_email": clean_from_email(config, required=True),
        }

    def connection_kwargs(self, config: dict[str, Any]) -> dict[str, Any]:
        return {"api_key": config["api_key"], "api_url": settings.ONEPING_RESEND_API_URL}
