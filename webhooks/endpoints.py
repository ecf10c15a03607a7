"""Creating webhook endpoints and inbound endpoints: the one service behind the API's
create and the dashboard's forms.

Both are capped per account (`ONEPING_MAX_WEBHOOK_ENDPOINTS`,
`ONEPING_MAX_INBOUND_ENDPOINTS`, 20 each, through accounts.limits.limit_for): every webhook
endpoint gets its own copy of every event, so endpoints multiply the work one send causes,
and every inbound endpoint is another URL that turns requests into sends. Disabled
endpoints count too: they can be enabled again at any time.
"""

import secrets
from typing import Any

from django.db import transaction

from accounts.limits import ensure_room
from accounts.models import Account
from webhooks.inbound.receiving import token_hash
from webhooks.models import InboundEndpoint, WebhookEndpoint
from webhooks.signing import new_secret

TOKEN_BYTES = 24  # 32 URL-safe characters in /hooks/in/<token>


@transaction.atomic
def create_webhook_endpoint(account: Account, **fields: Any) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret, or LimitReached (400 limit_reached)."""
    ensure_room(account, "webhook_endpoints", WebhookEndpoint.objects.filter(account=account))
    return WebhookEndpoint.objects.create(account=account, secret=new_secret(), **fields)


@transaction.atomic
def create_inbound_endpoint(account: Account, **fields: Any) -> InboundEndpoint:
    """A new inbound endpoint with a fresh URL token, or LimitReached (400 limit_reached).
    `fields` are validated (webhooks.inbound.serializers.InboundEndpointSerializer)."""
    ensure_room(account, "inbound_endpoints", InboundEndpoint.objects.filter(account=account))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return InboundEndpoint.objects.create(
        account=account, token=token, token_hash=token_hash(token), **fields
    )
