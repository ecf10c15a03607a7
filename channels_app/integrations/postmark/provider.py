"""Postmark (https://postmarkapp.com/developer/api/email-api), through anymail's backend.

The Server API token (a server's *API Tokens* tab) sends; Postmark signs nothing it posts
to webhooks, so the tracking webhook URL carries HTTP basic-auth credentials of oneping's
making (postmark/callbacks.py).
"""

from typing import Any

from django.conf import settings

from channels_app.integrations.email.esp import AnymailProvider
from channels_app.integrations.email.validation import clean_from_email, clean_secret


class PostmarkProvider(AnymailProvider):
    name = "postmark"
    title = "Postmark"
    backend = "anymail.backends.postmark.EmailBackend"
    fields = ("server_token", "from_email")
    secrets = ("server_token",)
    account_fields = ("server_token",)

    def clean(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "server_token": clean_secret(config, "server_token", "the Postmark server token"),
            "from_email": clean_from_email(config, required=True),
        }

    def connection_kwargs(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "server_token": config["server_token"],
            "api_url": settings.ONEPING_POSTMARK_API_URL,
        }
