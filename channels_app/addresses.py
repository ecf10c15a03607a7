"""Where a message goes on each channel: contact, then the recipient itself, then defaults."""

from dataclasses import dataclass, field
from typing import Any

from channels_app.integrations import get_integration
from channels_app.integrations.base import ConfigError
from channels_app.integrations.simulator.magic import CHAT
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


def resolve(
    channel: str,
    recipient: str,
    contact: Contact | None,
    config: ChannelConfig,
    *,
    simulated: bool = False,
) -> Route:
    """The route to `recipient` on `channel`. `simulated` (a test environment's send): a
    chat kind takes the recipient itself as the simulated chat when no contact gives an
    address, so its magic words (simulator/magic.py) need no contact; email and phone
    numbers are checked as in live mode (their magic addresses are real-shaped)."""
    integration = get_integration(channel)
    target = None
    if contact is not None and contact.addresses.get(channel):
        target = contact.addresses[channel]
    elif simulated and integration.simulated_as == CHAT and recipient.strip():
        target = recipient.strip()
        return Route(channel=channel, target=target, address=f"simulated chat {target}"[:255])
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
