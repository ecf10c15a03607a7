"""Events: created when a delivery's status changes, stored, and fanned out to receivers."""

import json
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


def on_delivery_status_changed(sender, delivery: Delivery, status: str, **kwargs) -> None:
    """Receiver of channels_app's delivery_status_changed (connected in WebhooksConfig)."""
    if status in MESSAGE_STATUSES:
        record_delivery_event(delivery, status)


def record_delivery_event(delivery: Delivery, status: str) -> Event:
    # The message row lock orders concurrent events of one message, so `sequence` is
    # strictly increasing per message even when two deliveries change at once.
    message = Message.objects.select_for_update().get(pk=delivery.message_id)
    last = Event.objects.filter(message=message).aggregate(Max("sequence"))["sequence__max"]
    sequence = (last or 0) + 1
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
    return create_event(
        message.account,
        f"message.{status}",
        data,
        message=message,
        delivery=delivery,
        sequence=sequence,
        callback_url=message.callback_url,
    )


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
    """Store the event and one webhook delivery per interested receiver; enqueue on commit."""
    now = timezone.now()
    event_id = new_id("evt")
    body = json.dumps(
        {"id": event_id, "event": event_type, "timestamp": iso(now), "data": data},
        separators=(",", ":"),
    )
    event = Event.objects.create(
        id=event_id,
        account=account,
        type=event_type,
        message=message,
        delivery=delivery,
        sequence=sequence,
        body=body,
        created_at=now,
    )
    if endpoints is None:
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(account=account, enabled=True)
            if endpoint.wants(event_type)
        ]
    webhook_deliveries = [
        WebhookDelivery(
            account=account, event=event, endpoint=endpoint, max_attempts=max_attempts()
        )
        for endpoint in endpoints
    ]
    if callback_url:
        webhook_deliveries.append(
            WebhookDelivery(
                account=account, event=event, callback_url=callback_url, max_attempts=max_attempts()
            )
        )
    for webhook_delivery in webhook_deliveries:
        webhook_delivery.enqueued_at = now
    WebhookDelivery.objects.bulk_create(webhook_deliveries)
    ids = [wd.pk for wd in webhook_deliveries]
    if ids:
        transaction.on_commit(lambda: queueing.enqueue(ids))
    return event


def max_attempts() -> int:
    return 1 + len(settings.ONEPING_WEBHOOK_RETRY_SCHEDULE)
