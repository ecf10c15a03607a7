"""Registry of channel integrations: one folder per kind, one line here per folder."""

from functools import cache

from django.utils.module_loading import import_string

from channels_app.integrations.base import Integration

REGISTRY: dict[str, str] = {
    "email": "channels_app.integrations.email.integration.EmailIntegration",
    "telegram": "channels_app.integrations.telegram.integration.TelegramIntegration",
    "slack": "channels_app.integrations.slack.integration.SlackIntegration",
    "discord": "channels_app.integrations.discord.integration.DiscordIntegration",
}

KINDS: tuple[str, ...] = tuple(REGISTRY)


@cache
def get_integration(kind: str) -> Integration:
    return import_string(REGISTRY[kind])()
