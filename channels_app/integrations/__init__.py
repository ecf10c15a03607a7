"""Registry of channel kinds: one folder per kind under integrations/, one line here per folder.

Everything that lists kinds reads this registry: the model fields' choices (a callable, so
a new kind needs no migration), the API's `kind` and `channels`, the channel page's forms,
the contact form's address fields, the unresolved-address hint. Those read it on every call
(`channel_kinds()`), so a kind registered at runtime shows up at once; the list filters and
the OpenAPI pattern of channel names take it when their module is imported. The one cache
is `get_integration`'s: one instance per kind.

What a kind's folder holds, and how to add one: README.md, "Layout".
"""

from functools import cache

from django.utils.module_loading import import_string

from channels_app.integrations.base import Integration

REGISTRY: dict[str, str] = {
    "email": "channels_app.integrations.email.integration.EmailIntegration",
    "telegram": "channels_app.integrations.telegram.integration.TelegramIntegration",
    "slack": "channels_app.integrations.slack.integration.SlackIntegration",
    "discord": "channels_app.integrations.discord.integration.DiscordIntegration",
}


def channel_kinds() -> tuple[str, ...]:
    """The channel kinds, in the order forms and error messages list them."""
    return tuple(REGISTRY)


def kind_choices() -> list[tuple[str, str]]:
    """(kind, title) pairs: the `choices` of the model fields that store a kind."""
    return [(kind, get_integration(kind).title) for kind in REGISTRY]


@cache
def get_integration(kind: str) -> Integration:
    return import_string(REGISTRY[kind])()
