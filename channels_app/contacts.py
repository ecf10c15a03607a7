"""Rules for contacts, shared by the API and the dashboard."""

from typing import Any

from channels_app.integrations import KINDS, get_integration
from channels_app.integrations.base import ConfigError
from oneping.crypto import mask


def merge_secrets(secret_keys: set[str], old: dict, new: dict) -> dict:
    """Secrets are write-only: an omitted secret, or its masked form sent back, keeps the
    stored value, so a client can change other fields without resending credentials."""
    merged = dict(new)
    for key in secret_keys:
        if key in old and (key not in new or new[key] == mask(old[key])):
            merged[key] = old[key]
    return merged


def secret_address_kinds() -> set[str]:
    return {kind for kind in KINDS if get_integration(kind).address_is_secret}


def clean_addresses(addresses: dict[str, Any], existing: dict[str, str] | None = None) -> dict:
    """Validated addresses per channel; raises ConfigError naming the channel."""
    unknown = [key for key in addresses if key not in KINDS]
    if unknown:
        raise ConfigError(
            unknown[0],
            f"Unknown channel {unknown[0]!r}: use {', '.join(KINDS)}.",
            "unknown_channel",
        )
    if existing is not None:
        addresses = merge_secrets(secret_address_kinds(), existing, addresses)
    cleaned = {}
    for kind, address in addresses.items():
        if address in (None, ""):
            continue
        try:
            cleaned[kind] = get_integration(kind).clean_contact_address(address)
        except ConfigError as exc:
            raise ConfigError(kind, exc.message, exc.code) from None
    return cleaned


def shown_addresses(addresses: dict[str, str]) -> dict[str, str]:
    secret = secret_address_kinds()
    return {kind: mask(value) if kind in secret else value for kind, value in addresses.items()}
