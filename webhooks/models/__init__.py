from webhooks.models.inbound import InboundEndpoint, InboundEvent
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
    "SigningSecret",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
