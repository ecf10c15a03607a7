"""Where a message goes on each channel: contact, then the recipient itself, then defaults."""

from dataclasses import dataclass, field
from typing import Any

from channels_app.integrations import get_integration
from channels_app.integrations.base import ConfigError
from channels_app.models import ChannelConfig, Contact
from oneping.errors import ServiceError


@dataclass(frozen=True)
class Route:
    channel: str
    target: str  # "" = the channel's configured webhook
    address: str  # what people see
    segments: int | None = None  # the parts the text is sent in, when the kind counts them
    options: dict[str, Any] = field(default_factory=dict)  # the kind's channel_options
    destination: str = ""  # Delivery.destination: "" when the channel is not paced


def resolve(channel: str, recipient: str, contact: Contact | None, config: ChannelConfig) -> Route:
    integration = get_integration(channel)
    target = None
    if contact is not None and contact.addresses.get(channel):
        target = contact.addresses[channel]
    if target is None:
        try:
            target = integration.address_from_recipient(recipient)
        except ConfigError as exc:  # an address of this kind, but unusable: say why
            raise ServiceError(
                "recipient_unresolved",
                f"No {channel} address for recipient {recipient!r}: {exc.message}.",
                details={"channel": channel, "recipient": recipient, "reason": exc.message},
            ) from None
    if target is None:
        target = integration.default_address(config.config)
    if target is None:
        raise ServiceError(
            "recipient_unresolved",
            f"No {channel} address for recipient {recipient!r}: " + integration.unresolved_hint,
            details={"channel": channel, "recipient": recipient},
        )
    address = integration.display_address(target)
    if contact is not None and contact.addresses.get(channel):
        address = f"{contact.identifier} ({address})"
    return Route(channel=channel, target=target, address=address[:255])
