"""Outgoing webhook endpoints: one function per action, called alike by the API views, the
dashboard and the admin (inbound endpoints: webhooks.inbound.endpoints).

The API's serializer checks input with `clean_url` and `clean_event_types` (the dashboard's
form goes through that serializer too: oneping.apiforms); the functions here act. Every
refusal is a ServiceError: the API renders it in the documented JSON error shape, the
dashboard shows its message, so both say the same thing for the same input.

Endpoints are capped per account (the plan's max_webhook_endpoints, through
accounts.limits.limit_for): every webhook endpoint gets its own copy of every event, so
endpoints multiply the work one send causes. Disabled endpoints count too: they can be
enabled again at any time.
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.limits import ensure_room
from accounts.models import Account
from oneping.errors import ServiceError
from oneping.urlguard import UrlNotAllowed, check_receiver_url
from webhooks import events
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.queueing import enqueue
from webhooks.signing import new_secret

Status = WebhookDelivery.Status


class InvalidField(ServiceError):
    """One field's value is refused. Raised as the API's validation errors look (code,
    "field: message", details.fields), so it reads the same wherever it surfaces."""

    def __init__(self, field: str, message: str, code: str):
        super().__init__(code, f"{field}: {message}", details={"fields": {field: [message]}})
        self.field = field
        self.text = message


def clean_url(url: str) -> str:
    """Where events may be POSTed: public, and https unless http is allowed (urlguard)."""
    try:
        return check_receiver_url(url)
    except UrlNotAllowed as exc:
        raise InvalidField("url", str(exc), exc.code) from None


def clean_event_types(event_types: Iterable[str]) -> list[str]:
    """The known event types, once each and sorted; none means every event but the opt-in
    ones (WebhookEndpoint.wants)."""
    wanted = list(event_types)
    unknown = [event_type for event_type in wanted if event_type not in events.EVENT_TYPES]
    if unknown:
        raise InvalidField(
            "event_types",
            f"Unknown event type {unknown[0]!r}: use {', '.join(events.EVENT_TYPES)}.",
            "unknown_event_type",
        )
    return sorted(set(wanted))


@transaction.atomic
def create(account: Account, **fields: Any) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret, or LimitReached (400 limit_reached).
    `fields` (url, description, event_types, enabled) are already cleaned."""
    ensure_room(account, "webhook_endpoints", WebhookEndpoint.objects.filter(account=account))
    return WebhookEndpoint.objects.create(account=account, secret=new_secret(), **fields)


def update(endpoint: WebhookEndpoint, **fields: Any) -> WebhookEndpoint:
    """Change the given fields (cleaned: url, description, event_types, enabled); a change
    of `enabled` goes through set_enabled. Returns the endpoint, as create() does."""
    enabled = fields.pop("enabled", endpoint.enabled)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(endpoint, name, value)
        # Only the edited fields: a worker may have disabled the endpoint (410 Gone) or an
        # admin rotated its secret since the caller loaded it.
        endpoint.save(update_fields=[*fields, "updated_at"])
        set_enabled(endpoint, enabled)
    return endpoint


def delete(endpoint: WebhookEndpoint) -> None:
    """Gone with its attempt log and webhook deliveries."""
    endpoint.delete()


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one keeps signing alongside it for the overlap (24 h), so
    receivers can switch without losing events."""
    overlap = timedelta(hours=settings.ONEPING_WEBHOOK_ROTATION_OVERLAP_HOURS)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + overlap
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint.secret


def send_test(endpoint: WebhookEndpoint) -> Event:
    """A webhook.test event for this endpoint only, sent as soon as a worker takes it."""
    if not endpoint.enabled:
        raise ServiceError(
            "endpoint_disabled",
            "This endpoint is disabled; enable it before sending a test event.",
            status=409,
        )
    with transaction.atomic():
        return events.create_event(
            endpoint.account,
            events.TEST_EVENT,
            {"endpoint_id": endpoint.pk, "message": "Test event from oneping."},
            endpoints=[endpoint],
        )


def set_enabled(endpoint: WebhookEndpoint, enabled: bool, *, reason: str = "") -> None:
    """enable() or disable(endpoint, reason) when `enabled` changes anything."""
    if enabled and not endpoint.enabled:
        enable(endpoint)
    elif not enabled and endpoint.enabled:
        disable(endpoint, reason)


def enable(endpoint: WebhookEndpoint) -> int:
    """Re-enabled by its owner (or support): forget the old failures, so auto-disable
    counts afresh, and send what was kept waiting. Returns how many were queued."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            enabled=True, disabled_reason="", failing_since=None
        )
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, "", None
        return _resume(endpoint)


def disable(endpoint: WebhookEndpoint, reason: str = "") -> None:
    """Stop sending to the endpoint; its deliveries wait until it is enabled again.
    `reason` is shown on the endpoint (who disabled it, or the answer that did)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_reason=reason[:500]
    )
    endpoint.enabled, endpoint.disabled_reason = False, reason[:500]


def disabled_by(who: str) -> str:
    """The reason shown when a person disables an endpoint."""
    return f"Disabled by {who} on {timezone.now():%Y-%m-%d %H:%M} UTC."


def auto_disable() -> int:
    """Disable endpoints whose every delivery has failed for the configured period."""
    now = timezone.now()
    days = settings.ONEPING_WEBHOOK_AUTO_DISABLE_DAYS
    count = 0
    for endpoint in WebhookEndpoint.objects.filter(
        enabled=True, failing_since__lt=now - timedelta(days=days)
    ):
        disable(
            endpoint,
            f"Every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC "
            f"({days} days); disabled automatically.",
        )
        count += 1
    return count


def _resume(endpoint: WebhookEndpoint) -> int:
    """Send what was kept waiting while the endpoint was disabled, now."""
    waiting = WebhookDelivery.objects.filter(
        endpoint=endpoint, status__in=[Status.PENDING, Status.RETRYING]
    ).values_list("pk", flat=True)
    ids = list(waiting)
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=Status.PENDING, next_attempt_at=None, enqueued_at=timezone.now()
    )
    transaction.on_commit(lambda: enqueue(ids))
    return len(ids)
