"""Contacts: the actions (create, update, delete) and their rules (one identifier per account,
addresses valid for their kind, secret addresses write-only), for the API and the dashboard.

Both validate through ContactSerializer, which applies the rules here and calls the
actions; neither saves on its own.
"""

from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Account
from channels_app.integrations import channel_kinds, get_integration
from channels_app.integrations.base import ConfigError
from channels_app.models import Contact
from oneping.crypto import mask
from oneping.errors import ServiceError


def merge_secrets(secret_keys: set[str], old: dict, new: dict) -> dict:
    """Secrets are write-only: an omitted secret, or its masked form sent back, keeps the
    stored value, so a client can change other fields without resending credentials."""
    merged = dict(new)
    for key in secret_keys:
        if key in old and (key not in new or new[key] == mask(old[key])):
            merged[key] = old[key]
    return merged


def secret_address_kinds() -> set[str]:
    return {kind for kind in channel_kinds() if get_integration(kind).address_is_secret}


def clean_addresses(addresses: dict[str, Any], existing: dict[str, str] | None = None) -> dict:
    """Validated addresses per channel; raises ConfigError naming the channel."""
    kinds = channel_kinds()
    unknown = [key for key in addresses if key not in kinds]
    if unknown:
        raise ConfigError(
            unknown[0],
            f"Unknown channel {unknown[0]!r}: use {', '.join(kinds)}.",
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


def identifier_taken() -> ServiceError:
    return ServiceError(
        "contact_exists", "A contact with this identifier already exists.", field="identifier"
    )


def check_identifier_free(account: Account, identifier: str, contact: Contact | None) -> None:
    """Refuse an identifier another of the account's contacts has (`contact` may keep its own)."""
    clash = Contact.objects.filter(account=account, identifier=identifier)
    if contact is not None:
        clash = clash.exclude(pk=contact.pk)
    if clash.exists():
        raise identifier_taken()


def create_contact(
    account: Account, *, identifier: str, name: str = "", addresses: dict[str, str]
) -> Contact:
    """`addresses` as clean_addresses returns them."""
    contact = Contact(account=account, identifier=identifier, name=name, addresses=addresses)
    return _save(contact)


def update_contact(contact: Contact, **changes: Any) -> Contact:
    """Change identifier, name and/or addresses (cleaned against the stored ones)."""
    for field, value in changes.items():
        setattr(contact, field, value)
    return _save(contact)


def delete_contact(contact: Contact) -> None:
    contact.delete()


def _save(contact: Contact) -> Contact:
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # the identifier was taken concurrently (unique_contact_identifier)
        raise identifier_taken() from None
    return contact
