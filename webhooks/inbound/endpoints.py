"""What a customer can do with inbound endpoints and their events: one function per action.

The API (webhooks.inbound.api), the dashboard (webhooks.dashboard.inbound and .failed) and
the admin all call these; none of them saves on its own. Input is validated before it
gets here (InboundEndpointSerializer, which the dashboard's form feeds too); what only a
service can tell (the account's endpoint limit) is a ServiceError, which the API answers
in the documented JSON error shape and the dashboard shows as a form error.
"""

import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from accounts.limits import ensure_room
from accounts.models import Account
from webhooks.inbound import processing
from webhooks.inbound.receiving import token_hash
from webhooks.models import InboundEndpoint, InboundEvent

TOKEN_BYTES = 24  # 32 URL-safe characters in /hooks/in/<token>
# Dead letters queued by one "reprocess" request of the API or one click in the dashboard.
REPROCESS_BATCH = 1000


@transaction.atomic
def create(account: Account, **fields: Any) -> InboundEndpoint:
    """A new inbound endpoint with a fresh URL token, or LimitReached (400 limit_reached).

    Capped per account (the plan's max_inbound_endpoints, through
    accounts.limits.limit_for): every inbound endpoint is another URL that turns requests
    into sends. Disabled endpoints count too: they can be enabled again at any time.
    """
    ensure_room(account, "inbound_endpoints", InboundEndpoint.objects.filter(account=account))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return InboundEndpoint.objects.create(
        account=account, token=token, token_hash=token_hash(token), **fields
    )


def update(endpoint: InboundEndpoint, **fields: Any) -> InboundEndpoint:
    """Change the given fields (validated) and only those: the failure counter that
    receiving keeps on the row may have moved since the endpoint was read."""
    for name, value in fields.items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=[*fields, "updated_at"])
    return endpoint


def set_enabled(endpoint: InboundEndpoint, enabled: bool) -> InboundEndpoint:
    """A disabled endpoint answers 404 to whoever posts to its URL (receiving.receive); it
    keeps its URL, secret and events, and works again once enabled."""
    return update(endpoint, enabled=enabled)


def delete(endpoint: InboundEndpoint) -> None:
    """Its URL stops working and its received events go with it."""
    endpoint.delete()


def reprocess(events: Iterable[InboundEvent]) -> int:
    """Queue dead letters (failed, or ignored before a rule existed) for processing again;
    returns how many. Other rows are skipped, not refused: a page may be stale."""
    return processing.reprocess(list(events))
