"""Shared rules of the integrations that post to a customer's webhook URL (Slack, Discord)."""

from typing import Any, ClassVar

import requests
from django import forms

from channels_app import pacing
from channels_app.integrations.base import ConfigError, Integration, TransportError, network_error
from channels_app.integrations.rate_field import rate_form_field
from channels_app.pacing import Bucket
from oneping.crypto import mask
from oneping.http import post_json
from oneping.urlguard import UrlNotAllowed, check_url


def clean_webhook_url(value: Any, field: str = "webhook_url") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(field, "This field is required: the incoming webhook URL.")
    try:
        return check_url(value)
    except UrlNotAllowed as exc:
        raise ConfigError(field, str(exc), code="url_not_allowed") from None


def display_webhook(target: str) -> str:
    return f"webhook {mask(target)}" if target else "channel webhook"


def only_webhook_url(config: dict[str, Any]) -> dict[str, Any]:
    unknown = set(config) - {"webhook_url", pacing.RATE_FIELD}
    if unknown:
        raise ConfigError(
            sorted(unknown)[0], "Unknown field: the config takes webhook_url and max_per_second."
        )
    return pacing.clean_rate(config, {"webhook_url": clean_webhook_url(config.get("webhook_url"))})


def webhook_fields(
    label: str, contact_help: str, default_rate: str
) -> tuple[dict[str, forms.Field], forms.Field]:
    """The channel form's URL field (a secret: never shown again) and its rate, and the
    contact's field."""
    form_fields: dict[str, forms.Field] = {
        "webhook_url": forms.CharField(label=label, widget=forms.PasswordInput),
        pacing.RATE_FIELD: rate_form_field(default_rate),
    }
    contact_field = forms.CharField(required=False, widget=forms.URLInput, help_text=contact_help)
    return form_fields, contact_field


def post_webhook(url: str, payload: dict[str, Any]) -> requests.Response:
    """POST to a customer's webhook URL; checked again now, since DNS can change."""
    try:
        return post_json(url, payload)
    except UrlNotAllowed as exc:
        raise TransportError(f"The webhook URL is not allowed: {exc}", permanent=True) from None
    except requests.RequestException as exc:
        raise network_error(exc, url) from None


class WebhookUrlIntegration(Integration):
    """Config and address rules of integrations that post to a webhook URL.

    The config holds one secret URL; a contact may name another URL (also a secret); with
    neither, messages go to the configured one (target "")."""

    secret_fields = ("webhook_url",)
    # The URL is both the secret and where it goes: a new destination is a new secret.
    secret_destinations = {"webhook_url": ("webhook_url",)}
    address_is_secret = True
    test_recipient_hint = (
        "Optional: a contact's identifier, to post to the contact's webhook instead."
    )
    # Messages a second one webhook URL takes, as its provider publishes it (each kind
    # links the page); the config's max_per_second wins.
    default_rate: ClassVar[float]

    def pacing(self, config: dict[str, Any], target: str) -> list[Bucket]:
        """One bucket per webhook URL (a contact's, else the channel's): the URL is the
        secret, so only who holds it shares its bucket (Bucket.key keeps only its hash)."""
        url = target or config.get("webhook_url", "")
        return [Bucket("webhook", url, pacing.rate_of(config, self.default_rate))]

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return only_webhook_url(config)

    def clean_contact_address(self, value: Any) -> str:
        return clean_webhook_url(value, field=self.kind)

    def default_address(self, config: dict[str, Any]) -> str | None:
        return ""  # the channel's configured webhook

    def display_address(self, target: str) -> str:
        return display_webhook(target)
