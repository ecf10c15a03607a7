"""Saving a channel's config: the rules the API and the dashboard form both apply.

Secrets are write-only. An update may omit one (or send its masked form back) to keep it,
but not while changing where it would be sent: an admin who cannot read the SMTP password
could otherwise point the channel at their own server and receive it with the next send.
"""

from typing import Any

from channels_app.contacts import merge_secrets
from channels_app.integrations import get_integration
from channels_app.integrations.base import ConfigError


def clean_channel_config(
    kind: str, submitted: dict[str, Any], stored: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The config to save for a channel of `kind`, from what a client `submitted` and what
    is `stored` (None on creation). Raises ConfigError naming the field at fault:
    `secret_required` when a kept secret would go to a new destination."""
    integration = get_integration(kind)
    config = submitted
    if stored:
        config = merge_secrets(set(integration.secrets_in_use(submitted)), stored, submitted)
    cleaned = integration.clean_config(config)
    if stored:
        _check_secret_destinations(kind, submitted, stored, cleaned)
    return cleaned


def _check_secret_destinations(
    kind: str, submitted: dict[str, Any], stored: dict[str, Any], cleaned: dict[str, Any]
) -> None:
    integration = get_integration(kind)
    for secret, destinations in integration.secret_destinations.items():
        kept = cleaned.get(secret) and cleaned.get(secret) == stored.get(secret)
        sent_again = secret in submitted and submitted[secret] == stored.get(secret)
        if not kept or sent_again:
            continue
        moved = [field for field in destinations if cleaned.get(field) != stored.get(field)]
        if moved:
            raise ConfigError(
                secret,
                f"Send the {secret} again to change {', '.join(moved)}: the saved {secret} "
                "is only ever sent where it was saved for.",
                code="secret_required",
            )
