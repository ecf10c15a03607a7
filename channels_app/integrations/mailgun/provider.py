"""Mailgun (https://documentation.mailgun.com/docs/mailgun/api-reference/), through
anymail's backend. An account lives in one region, and its API has a base URL per region
(https://documentation.mailgun.com/docs/mailgun/api-reference/#base-url): us or eu.

The API key sends from the sender domain; the webhook signing key (Mailgun's *Webhooks*
page, *HTTP webhook signing key*) checks what Mailgun posts to the tracking webhook URL.
"""

from typing import Any

from django.conf import settings

from channels_app.integrations.base import ConfigError
from channels_app.integrations.email.esp import AnymailProvider
from channels_app.integrations.email.validation import (
    clean_from_email,
    clean_optional_secret,
    clean_secret,
)

REGION_URLS = {"us": "https://api.mailgun.net/v3", "eu": "https://api.eu.mailgun.net/v3"}


class MailgunProvider(AnymailProvider):
    name = "mailgun"
    title = "Mailgun"
    backend = "anymail.backends.mailgun.EmailBackend"
    fields = ("api_key", "sender_domain", "region", "webhook_signing_key", "from_email")
    secrets = ("api_key", "webhook_signing_key")
    account_fields = ("api_key", "region")

    def clean(self, config: dict[str, Any]) -> dict[str, Any]:
        region = config.get("region", "us")
        if region not in REGION_URLS:
            raise ConfigError(
                "region", 'Set region to "us" or "eu" (where your Mailgun account is).'
            )
        domain = config.get("sender_domain")
        if not isinstance(domain, str) or not domain.strip() or "/" in domain:
            raise ConfigError(
                "sender_domain", "Enter your Mailgun sending domain, like mg.example.com."
            )
        return {
            "api_key": clean_secret(config, "api_key", "the Mailgun API key"),
            "sender_domain": domain.strip().lower(),
            "region": region,
            # Until it is set, tracking posts are refused (they cannot be checked).
            "webhook_signing_key": clean_optional_secret(config, "webhook_signing_key"),
            "from_email": clean_from_email(config, required=True),
        }

    def connection_kwargs(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "api_key": config["api_key"],
            "sender_domain": config["sender_domain"],
            "api_url": settings.ONEPING_MAILGUN_API_URL or REGION_URLS[config["region"]],
        }
