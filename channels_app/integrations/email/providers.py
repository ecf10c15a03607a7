"""The ways an email channel sends: one class per provider, one registry line each.

An email channel's config names its provider: "platform" (oneping's own mail settings),
"smtp" (the account's SMTP server), or an email service provider reached through
django-anymail's backends ("postmark", "mailgun", "resend"). Each provider's class lives
in its folder (email/smtp.py for the two SMTP ones, integrations/<provider>/provider.py
for the services) and says which config fields it takes, which of them are secrets, how to
clean them and how to send. EmailIntegration (email/integration.py) delegates to it.

Configs saved before providers existed have no `provider`: `{}` is the platform's mail and
a config with `host` is SMTP (the data migration 0011 writes it in; clean_config reads
the old shapes too, so an old client's update keeps working).
"""

from functools import cache
from typing import Any, ClassVar

from django.utils.module_loading import import_string

from channels_app.integrations.base import ConfigError, Outgoing, SendResult

REGISTRY: dict[str, str] = {
    "platform": "channels_app.integrations.email.smtp.PlatformProvider",
    "smtp": "channels_app.integrations.email.smtp.SmtpProvider",
    "postmark": "channels_app.integrations.postmark.provider.PostmarkProvider",
    "mailgun": "channels_app.integrations.mailgun.provider.MailgunProvider",
    "resend": "channels_app.integrations.resend.provider.ResendProvider",
}

# Opt-in tracking, taken by every provider: passed to a service provider with each send
# (anymail's track_opens / track_clicks), done by oneping itself for SMTP and platform mail
# (a pixel and click-through links under ONEPING_PUBLIC_URL).
TRACKING_FIELDS = ("track_opens", "track_clicks")


class EmailProvider:
    """Base of each email provider."""

    name: ClassVar[str]
    title: ClassVar[str]
    # The config fields it takes besides `provider` and the tracking flags.
    fields: ClassVar[tuple[str, ...]] = ()
    secrets: ClassVar[tuple[str, ...]] = ()
    # The fields naming the account it sends as (the SMTP server and login, an API key):
    # channels sending as the same account share its pacing bucket (sending_account).
    account_fields: ClassVar[tuple[str, ...]] = ()
    # Whether it reports each email's fate (delivered, bounced, opened…) to the channel's
    # tracking webhook URL (/hooks/providers/<name>/<callback token>/): the delivery then
    # stays "sent" with its fallbacks on standby until it does (Integration.reports_fate_for).
    reports_fate: ClassVar[bool] = False
    # Whether open and click tracking can be asked for with each message (anymail's
    # track_opens / track_clicks, or oneping's own for SMTP); where it cannot (Resend), it is
    # the customer's setting at the provider, and the flags are refused (clean_tracking).
    tracks_per_message: ClassVar[bool] = True
    tracking_help: ClassVar[str] = ""

    def clean(self, config: dict[str, Any]) -> dict[str, Any]:
        """The provider's own fields, cleaned (without provider and tracking flags)."""
        raise NotImplementedError

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        raise NotImplementedError

    def sending_account(self, config: dict[str, Any]) -> str:
        """The pacing bucket's ident (kept only hashed): the provider and its account
        fields, secrets included, so only who holds the credentials shares the bucket."""
        return "\0".join([self.name, *(str(config.get(f, "")) for f in self.account_fields)])


def provider_name(config: dict[str, Any]) -> str:
    """The provider of a saved (or submitted) config, old shapes included."""
    name = config.get("provider")
    if isinstance(name, str) and name:
        return name
    return "smtp" if config.get("host") else "platform"


def get_provider(config: dict[str, Any]) -> EmailProvider:
    """The config's provider; ConfigError("provider") for an unknown one."""
    name = provider_name(config)
    if name not in REGISTRY:
        raise ConfigError(
            "provider", f"Choose a provider: {', '.join(f'{n!r}' for n in REGISTRY)}."
        )
    return _provider(name)


@cache
def _provider(name: str) -> EmailProvider:
    return import_string(REGISTRY[name])()


def all_secret_fields() -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in REGISTRY:
        seen.update(dict.fromkeys(_provider(name).secrets))
    return tuple(seen)


def clean_tracking(config: dict[str, Any], provider: EmailProvider) -> dict[str, bool]:
    cleaned = {}
    for flag in TRACKING_FIELDS:
        value = config.get(flag, False)
        if not isinstance(value, bool):
            raise ConfigError(flag, "Must be true or false.")
        if value and not provider.tracks_per_message:
            raise ConfigError(flag, provider.tracking_help)
        cleaned[flag] = value
    return cleaned
