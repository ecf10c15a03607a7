from webhooks.models.outgoing import (
    Event,
    SigningSecret,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = ["Event", "SigningSecret", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]
