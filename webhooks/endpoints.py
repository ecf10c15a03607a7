"""Creating webhook endpoints: the one service behind the API's create and the dashboard's
forms (inbound endpoints: webhooks.inbound.endpoints).

Capped per account (`ONEPING_MAX_WEBHOOK_ENDPOINTS`, 20, through accounts.limits.limit_for):
every webhook endpoint gets its own copy of every event, so endpoints multiply the work one
send causes. Disabled endpoints count too: they can be enabled again at any time.
"""

from typing import Any

from django.db import transaction

from accounts.limits import ensure_room
from accounts.models import Account
from webhooks.models import WebhookEndpoint
from webhooks.signing import new_secret


@transaction.atomic
def create_webhook_endpoint(account: Account, **fields: Any) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret, or LimitReached (400 limit_reached)."""
    ensure_room(account, "webhook_endpoints", WebhookEndpoint.objects.filter(account=account))
    return WebhookEndpoint.objects.create(account=account, secret=new_secret(), **fields)
