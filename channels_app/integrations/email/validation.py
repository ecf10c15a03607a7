"""Address rules every email provider shares."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from channels_app.integrations.base import ConfigError


def is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def clean_from_email(config: dict[str, Any], *, required: bool) -> str:
    """The channel's sender. A provider channel needs one: the provider sends only from
    a domain or address verified in the customer's account there."""
    from_email = config.get("from_email", "")
    if not from_email:
        if required:
            raise ConfigError(
                "from_email",
                "Enter the address to send from (verified in your provider's account).",
            )
        return ""
    if not isinstance(from_email, str) or not is_email(from_email.strip()):
        raise ConfigError("from_email", "Enter a valid email address.")
    return from_email.strip()


def clean_secret(config: dict[str, Any], field: str, what: str) -> str:
    value = config.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(field, f"Enter {what}.")
    return value.strip()


def clean_optional_secret(config: dict[str, Any], field: str) -> str:
    value = config.get(field, "")
    if not isinstance(value, str):
        raise ConfigError(field, "Must be a string.")
    return value.strip()
