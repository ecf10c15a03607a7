"""Events: created when a delivery's status changes, stored, and fanned out to receivers."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Account
from channels_app.models import Delivery, Message
from oneping.ids import new_id
from webhooks import queueing
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint

# Delivery statuses customers hear about, as message.<status> events.
MESSAGE_STATUSES = ("sent", "delivered", "retrying", "failed", "bounced", "opened", "clicked")
TEST_EVENT = "webhook.test"
EVENT_TYPES = (*(f"message.{status}" for status in MESSAGE_STATUSES), TEST_EVENT)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def on_delivery_status_changed(
    sender, changes: list[tuple[Delivery, str]], locked_message: Message | None = None, **kwargs
) -> None:
    """Receiver of channels_app's delivery_status_changed (connected in WebhooksConfig)."""
    wanted = [(delivery, status) for delivery, status in changes if status in MESSAGE_STATUSES]
    by_message: dict[str, list[tuple[Delivery, str]]] = {}
    for delivery, status in wanted:
        by_message.setdefault(delivery.message_id, []).append((delivery, status))
    for message_id, message_changes in by_message.items():
        message = locked_message if locked_message and locked_message.pk == message_id else None
        record_delivery_events(message_changes, locked_message=message)


def record_delivery_events(
    changes: list[tuple[Delivery, str]], *, locked_message: Message | None = None
) -> list[Event]:
    """One event per change, all of one message, numbered in order after its last event.

    The message row lock orders concurrent events of one message, so `sequence` is strictly
    increasing per message even when two deliveries change at once. A caller that already
    holds the lock passes the message and saves the round trip."""
    message = locked_message
    if message is None:
        message = Message.objects.select_for_update().get(pk=changes[0][0].message_id)
    last = Event.objects.filter(message=message).aggregate(Max("sequence"))["sequence__max"]
    endpoints = list(WebhookEndpoint.objects.filter(account_id=message.account_id, enabled=True))
    planned = []
    for offset, (delivery, status) in enumerate(changes, start=1):
        sequence = (last or 0) + offset
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
        receivers = [endpoint for endpoint in endpoints if endpoint.wants(event_type)]
        planned.append(
            PlannedEvent(event_type, data, receivers, delivery=delivery, sequence=sequence)
        )
    return create_events(
        message.account_id, planned, message=message, callback_url=message.callback_url
    )


@dataclass
class PlannedEvent:
    type: str
    data: dict[str, Any]
    endpoints: list[WebhookEndpoint]
    delivery: Delivery | None = None
    sequence: int = 0


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
    planned = PlannedEvent(event_type, data, endpoints, delivery=delivery, sequence=sequence)
    [event] = create_events(account.pk, [planned], message=message, callback_url=callback_url)
    return event


def create_events(
    account_id: str,
    planned: list[PlannedEvent],
    *,
    message: Message | None = None,
    callback_url: str = "",
) -> list[Event]:
    """Store events and their webhook deliveries, one INSERT each; enqueue on commit."""
    now = timezone.now()
    events, webhook_deliveries = [], []
    for plan in planned:
        event_id = new_id("evt")
        body = json.dumps(
            {"id": event_id, "event": plan.type, "timestamp": iso(now), "data": plan.data},
            separators=(",", ":"),
        )
        event = Event(
            id=event_id,
            account_id=account_id,
            type=plan.type,
            message=message,
            delivery=plan.delivery,
            sequence=plan.sequence,
            body=body,
            created_at=now,
        )
        events.append(event)
        receivers = [{"endpoint": endpoint} for endpoint in plan.endpoints]
        if callback_url:
            receivers.append({"callback_url": callback_url})
        webhook_deliveries += [
            WebhookDelivery(
                account_id=account_id,
                event=event,
                max_attempts=max_attempts(),
                enqueued_at=now,
                **receiver,
            )
            for receiver in receivers
        ]
    Event.objects.bulk_create(events)
    WebhookDelivery.objects.bulk_create(webhook_deliveries)
    ids = [wd.pk for wd in webhook_deliveries]
    if ids:
        transaction.on_commit(lambda: queueing.enqueue_together(ids))
    return events


def max_attempts() -> int:
    return 1 + len(settings.ONEPING_WEBHOOK_RETRY_SCHEDULE)
