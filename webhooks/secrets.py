"""Which secrets sign a webhook delivery."""

from django.utils import timezone

from accounts.models import Account
from webhooks.models import SigningSecret, WebhookDelivery, WebhookEndpoint
from webhooks.signing import new_secret


def account_signing_secret(account: Account) -> str:
    """The secret for per-message callback_url events (made on first use)."""
    signing, _ = SigningSecret.objects.get_or_create(
        account=account, defaults={"secret": new_secret()}
    )
    return signing.secret


def endpoint_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret first, then the previous one while a rotation overlaps."""
    current = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > timezone.now():
        current.append(endpoint.previous_secret)
    return current


def signing_secrets(delivery: WebhookDelivery) -> list[str]:
    if delivery.endpoint is not None:
        return endpoint_secrets(delivery.endpoint)
    return [account_signing_secret(delivery.account)]
