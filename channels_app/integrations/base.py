"""What every channel integration provides: config rules, address rules and a transport."""

from dataclasses import dataclass
from typing import Any, ClassVar

import requests

from oneping.http import describe_failure, host_of

EXCERPT_LIMIT = 2048


class ConfigError(ValueError):
    """A channel config or address is invalid; `field` names the culprit."""

    def __init__(self, field: str, message: str, code: str = "invalid_config"):
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


class TransportError(Exception):
    """A send attempt failed.

    permanent: retrying cannot help (bad credentials, unknown chat, refused recipient).
    retry_after: seconds the provider asked us to wait, when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        response_excerpt: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.response_excerpt = response_excerpt[:EXCERPT_LIMIT]


@dataclass(frozen=True)
class Outgoing:
    """One attempt's worth of work for a transport."""

    text: str
    subject: str
    target: str  # the resolved address; "" means the channel's configured default
    message_id: str
    delivery_id: str


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str = ""
    response_excerpt: str = ""


class Integration:
    """Base of each channel kind. Subclasses live in integrations/<kind>/."""

    kind: ClassVar[str]
    # Longest message the provider takes, in characters; None = no limit.
    message_limit: ClassVar[int | None] = None
    # Config fields that are secrets: write-only in the API, masked when shown.
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Whether a contact's address for this kind is a secret (a webhook URL is).
    address_is_secret: ClassVar[bool] = False
    # Where each secret is sent: {secret: (config fields naming its destination)}. Changing
    # a destination without sending the secret again is refused (channels_app.channel_config),
    # else whoever may edit the channel could point the stored secret at their own server.
    secret_destinations: ClassVar[dict[str, tuple[str, ...]]] = {}
    # What a successful attempt means: "delivered" into a chat, or "sent" to an SMTP server.
    success_status: ClassVar[str] = "delivered"

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def address_from_recipient(self, recipient: str) -> str | None:
        """The recipient itself, when it is an address of this kind; else None."""
        return None

    def clean_contact_address(self, value: Any) -> str:
        """Validate an address stored on a contact; raise ConfigError if unusable."""
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.kind, "Enter a non-empty string.")
        return value.strip()

    def default_address(self, config: dict[str, Any]) -> str | None:
        """Where to send when neither contact nor recipient gives an address."""
        return None

    def display_address(self, target: str) -> str:
        return target

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        raise NotImplementedError


def excerpt(response: requests.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:EXCERPT_LIMIT]}"


def network_error(exc: requests.RequestException, url: str) -> TransportError:
    """Timeouts and connection errors are transient. The message names the failure's kind
    and the host only: never the exception's text, which carries the URL's path (a Slack or
    Discord webhook's secret, a Telegram bot token)."""
    return TransportError(
        f"Sending failed: {describe_failure(exc, host_of(url))}.", permanent=False
    )
