"""Outgoing webhooks: where customers want events, the events, and every attempt."""

from django.db import models
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from channels_app.models import Delivery, Message
from oneping.crypto import EncryptedTextField
from oneping.ids import PublicIdField
from oneping.logorder import log_index_key
from webhooks.event_types import OPT_IN_EVENT_TYPES


class SigningSecret(models.Model):
    """The account's secret for signing events sent to per-message callback_url."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    secret = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"signing secret of {self.account}"


class WebhookEndpoint(models.Model):
    id = PublicIdField(prefix="we")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2048)
    description = models.CharField(max_length=500, blank=True)
    event_types = models.JSONField(default=list, blank=True, help_text="Empty: every event.")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    secret = EncryptedTextField()
    # During a rotation the old secret keeps signing alongside the new one until then.
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # When the current run of failed attempts began (cleared by a success): the
    # auto-disable rule reads it.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        """Empty event_types: every event except the opt-in ones, which only an endpoint
        naming them receives (webhooks.event_types.OPT_IN_EVENT_TYPES)."""
        if event_type in OPT_IN_EVENT_TYPES:
            return event_type in self.event_types
        return not self.event_types or event_type in self.event_types


class Event(models.Model):
    """Something that happened, as sent to receivers; stored so it can be listed and replayed."""

    id = PublicIdField(prefix="evt")
    # No index of its own: event_log leads with the account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(max_length=50)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    sequence = models.PositiveIntegerField(default=0)
    # The exact JSON document receivers get (built once, so every retry signs the same bytes).
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            # In byte order, so only they give the log's order (oneping.logorder).
            models.Index(F("account"), log_index_key(), name="event_log"),
            models.Index(F("account"), F("type"), log_index_key(), name="event_log_type"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class WebhookDelivery(models.Model):
    """One event for one receiver: an endpoint, or the message's callback_url."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Manual"

    id = PublicIdField(prefix="whd")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="webhook_deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    # For a callback_url (no endpoint); endpoints are sent to their current URL.
    callback_url = models.URLField(max_length=2048, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.SCHEDULED)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "enqueued_at"], name="webhook_sweep"),
            models.Index(fields=["endpoint", "status", "-id"], name="webhook_by_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class WebhookAttempt(models.Model):
    webhook_delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="attempts"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    url = models.URLField(max_length=2048)
    request_headers = models.JSONField(default=dict)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    trigger = models.CharField(max_length=20, choices=WebhookDelivery.Trigger.choices)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.url} ({self.status_code or self.error[:30]})"
