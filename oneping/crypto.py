"""Secrets at rest: Fernet encryption with key rotation (MultiFernet).

ONEPING_ENCRYPTION_KEYS lists Fernet keys: the first encrypts, every one decrypts, so a new
key can be put first while old rows still read. https://cryptography.io/en/latest/fernet/
"""

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "ONEPING_ENCRYPTION_KEYS must hold url-safe base64 Fernet keys of 32 bytes."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.ONEPING_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with ONEPING_ENCRYPTION_KEYS: "
            "was a key removed before the data was re-encrypted?"
        ) from None


def mask(secret: str) -> str:
    """What the API shows of a secret: its last four characters."""
    return f"…{secret[-4:]}" if secret else ""


class EncryptedTextField(models.TextField):
    """A string stored encrypted; reads give the plaintext back."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)


class EncryptedJSONField(models.TextField):
    """A JSON document stored encrypted as a whole (it cannot be queried inside)."""

    def from_db_value(self, value, expression, connection) -> Any:
        return None if value is None else json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def get_prep_value(self, value):
        return None if value is None else encrypt(json.dumps(value, sort_keys=True))

    def value_to_string(self, obj) -> str:
        return json.dumps(self.value_from_object(obj))
