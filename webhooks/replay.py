"""Sending webhook deliveries again on request: replay one event, recover an endpoint's
failures, reprocess dead letters. Called alike by the API, the dashboard and the admin.

A re-send is a manual attempt with a fresh retry budget; it keeps the event's id, so a
receiver that already processed it can recognise the duplicate by its webhook-id
(https://www.standardwebhooks.com/).
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from oneping.errors import ServiceError
from webhooks import events, retry
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.queueing import enqueue

Status = WebhookDelivery.Status


def resend(deliveries: list[WebhookDelivery]) -> int:
    """Send again now, as manual attempts with a fresh retry budget. Deliveries being
    sent at this moment are skipped; returns how many were queued."""
    now = timezone.now()
    ids = []
    for delivery in deliveries:
        updated = (
            WebhookDelivery.objects.filter(pk=delivery.pk)
            .exclude(status=Status.SENDING)
            .update(
                status=Status.PENDING,
                trigger=WebhookDelivery.Trigger.MANUAL,
                max_attempts=delivery.attempts + retry.policy().max_attempts,
                next_attempt_at=None,
                enqueued_at=now,
                updated_at=now,
            )
        )
        if updated:
            ids.append(delivery.pk)
    transaction.on_commit(lambda: enqueue(ids))
    return len(ids)


def replay(account: Account, event_id: str, endpoint_id: str | None = None) -> int:
    """Re-send the account's event (same webhook-id) to all its receivers, or to one of
    the account's endpoints (which need not have received it before)."""
    event = Event.objects.filter(account=account, pk=event_id).first()
    if event is None:
        raise ServiceError("not_found", "No such event in this account.", status=404)
    endpoint = None
    if endpoint_id is not None:
        endpoint = WebhookEndpoint.objects.filter(account=account, pk=endpoint_id).first()
        if endpoint is None:
            raise ServiceError("not_found", "No such webhook endpoint in this account.", status=404)
    with transaction.atomic():
        deliveries = list(event.webhook_deliveries.all())
        if endpoint is not None:
            deliveries = [d for d in deliveries if d.endpoint_id == endpoint.pk]
            if not deliveries:
                deliveries = [
                    WebhookDelivery.objects.create(
                        account=event.account,
                        event=event,
                        endpoint=endpoint,
                        max_attempts=events.max_attempts(),
                    )
                ]
        return resend(deliveries)


def recover(endpoint: WebhookEndpoint, since: datetime) -> int:
    """Re-send every failed delivery of the endpoint created since `since`."""
    with transaction.atomic():
        failed = WebhookDelivery.objects.filter(
            endpoint=endpoint, status=Status.FAILED, created_at__gte=since
        )
        return resend(list(failed))
