"""Events: created when a delivery's status changes (or an account nears its quota), stored,
and fanned out to receivers."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import environments
from accounts.models import Account
from channels_app.models import Delivery, Message
from oneping.ids import new_id
from webhooks import queueing, retry
from webhooks.event_types import (  # noqa: F401 (re-exported: events.EVENT_TYPES)
    EVENT_TYPES,
    MESSAGE_STATUSES,
    QUOTA_WARNING_EVENT,
    TEST_EVENT,
)
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def on_delivery_status_changed(
    sender,
    changes: list[tuple[Delivery, str]],
    locked_messages: dict[str, Message] | None = None,
    **kwargs,
) -> None:
    """Receiver of channels_app's delivery_status_changed (connected in WebhooksConfig)."""
    wanted = [(delivery, status) for delivery, status in changes if status in MESSAGE_STATUSES]
    if wanted:
        record_delivery_events(wanted, locked_messages=locked_messages)


def on_quota_warning(
    sender, account: Account, used: int, limit: int, percent: int, period_end: datetime, **kwargs
) -> None:
    """Receiver of accounts' quota_warning (connected in WebhooksConfig): an
    account.quota_warning event to the endpoints that name it (it is opt-in, see
    WebhookEndpoint.wants)."""
    data = {"used": used, "limit": limit, "percent": percent, "period_end": iso(period_end)}
    with transaction.atomic():
        create_event(account, QUOTA_WARNING_EVENT, data)


def record_delivery_events(
    changes: list[tuple[Delivery, str]], *, locked_messages: dict[str, Message] | None = None
) -> list[Event]:
    """One event per change, numbered per message in order after its last event; changes
    of several messages are stored together (one statement per kind of row).

    The message row lock orders concurrent events of one message, so `sequence` is strictly
    increasing per message even when two deliveries change at once. A caller that already
    holds the locks passes the messages and saves the round trip."""
    messages = dict(locked_messages or {})
    missing = {delivery.message_id for delivery, _ in changes} - set(messages)
    if missing:
        # In id order, as channels_app.outcomes takes them: two lockers never cross.
        locked = Message.objects.select_for_update().filter(pk__in=missing).order_by("pk")
        messages.update((message.pk, message) for message in locked)
    involved = {delivery.message_id for delivery, _ in changes}
    last = dict(
        Event.objects.filter(message_id__in=involved)
        .order_by()
        .values("message_id")
        .annotate(last=Max("sequence"))
        .values_list("message_id", "last")
    )
    accounts = {messages[pk].account_id for pk in involved}
    endpoints: dict[str, list[WebhookEndpoint]] = {account_id: [] for account_id in accounts}
    for endpoint in WebhookEndpoint.objects.filter(account_id__in=accounts, enabled=True):
        endpoints[endpoint.account_id].append(endpoint)
    planned = []
    for delivery, status in changes:
        message = messages[delivery.message_id]
        sequence = last[message.pk] = (last.get(message.pk) or 0) + 1
        event_type = f"message.{status}"
        data = {
            "message_id": message.pk,
            "delivery_id": delivery.pk,
            "channel": delivery.channel,
            "recipient": message.recipient,
            "status": status,
            "attempt": delivery.attempts,
            "provider_message_id": delivery.provider_message_id or None,
            "error": delivery.last_error or None,
            "metadata": message.metadata,
            "sequence": sequence,
        }
        receivers = [e for e in endpoints[message.account_id] if e.wants(event_type)]
        planned.append(
            PlannedEvent(
                event_type,
                data,
                receivers,
                account_id=message.account_id,
                message=message,
                delivery=delivery,
                sequence=sequence,
                callback_url=message.callback_url,
            )
        )
    return create_events(planned)


@dataclass
class PlannedEvent:
    type: str
    data: dict[str, Any]
    endpoints: list[WebhookEndpoint]
    account_id: str
    message: Message | None = None
    delivery: Delivery | None = None
    sequence: int = 0
    callback_url: str = ""


def create_event(
    account: Account,
    event_type: str,
    data: dict[str, Any],
    *,
    message: Message | None = None,
    delivery: Delivery | None = None,
    sequence: int = 0,
    callback_url: str = "",
    endpoints: list[WebhookEndpoint] | None = None,
) -> Event:
    """Store the event and one webhook delivery per interested receiver; enqueue on commit.
    `endpoints` None: every enabled endpoint of the account that wants this type."""
    if endpoints is None:
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(account=account, enabled=True)
            if endpoint.wants(event_type)
        ]
    planned = PlannedEvent(
        event_type,
        data,
        endpoints,
        account_id=account.pk,
        message=message,
        delivery=delivery,
        sequence=sequence,
        callback_url=callback_url,
    )
    [event] = create_events([planned])
    return event


def create_events(planned: list[PlannedEvent]) -> list[Event]:
    """Store events and their webhook deliveries, one INSERT each; enqueue on commit."""
    now = timezone.now()
    events, webhook_deliveries = [], []
    for plan in planned:
        event_id = new_id("evt")
        body = json.dumps(
            {
                "id": event_id,
                "event": plan.type,
                "timestamp": iso(now),
                # false for the test environment's events (accounts.environments), which
                # test-mode endpoints receive over HTTP, signed as usual.
                "livemode": environments.is_live(plan.account_id),
                "data": plan.data,
            },
            separators=(",", ":"),
        )
        event = Event(
            id=event_id,
            account_id=plan.account_id,
            type=plan.type,
            message=plan.message,
            delivery=plan.delivery,
            sequence=plan.sequence,
            body=body,
            created_at=now,
        )
        events.append(event)
        receivers = [{"endpoint": endpoint} for endpoint in plan.endpoints]
        if plan.callback_url:
            receivers.append({"callback_url": plan.callback_url})
        webhook_deliveries += [
            WebhookDelivery(
                account_id=plan.account_id,
                event=event,
                max_attempts=max_attempts(),
                enqueued_at=now,
                **receiver,
            )
            for receiver in receivers
        ]
    Event.objects.bulk_create(events)
    if webhook_deliveries:
        WebhookDelivery.objects.bulk_create(webhook_deliveries)
        ids = [wd.pk for wd in webhook_deliveries]
        transaction.on_commit(lambda: queueing.enqueue_together(ids))
    return events


def max_attempts() -> int:
    return retry.policy().max_attempts
