from webhooks.models.inbound import InboundEndpoint, InboundEvent, InboundEventMessage
from webhooks.models.outgoing import (
    Event,
    SigningSecret,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "Event",
    "InboundEndpoint",
    "InboundEvent",
    "InboundEventMessage",
    "SigningSecret",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
