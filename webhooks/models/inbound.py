"""Inbound webhooks: URLs that third parties post to, and what they posted."""

from django.db import models
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from channels_app.models import Message
from oneping.crypto import EncryptedTextField
from oneping.ids import PublicIdField
from oneping.logorder import log_index_key
from webhooks.inbound.schemes import verification_choices


class InboundEndpoint(models.Model):
    id = PublicIdField(prefix="inb")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="inbound_endpoints")
    name = models.CharField(max_length=200)
    # A callable, read on each use: a scheme added to the registry needs no migration.
    verification = models.CharField(max_length=30, choices=verification_choices)
    secret = EncryptedTextField(blank=True, default="")
    signature_header = models.CharField(max_length=100, default="X-Webhook-Signature")
    # The generic "hmac" scheme's description of the signature (schemes/hmac.py), and the
    # "token" scheme's prefix such as "Bearer " (schemes/token.py).
    hmac = models.JSONField(default=dict, blank=True)
    token_prefix = models.CharField(max_length=41, blank=True, default="")
    rules = models.JSONField(default=list)

    class RuleMode(models.TextChoices):
        ALL = "all", "Every matching rule fires"
        FIRST = "first", "The first matching rule fires"

    # Endpoints made before rule modes keep "first" (migration 0005), new ones get "all".
    rule_mode = models.CharField(max_length=10, choices=RuleMode.choices, default=RuleMode.ALL)
    # Where the event type comes from instead of the scheme's place for it
    # (webhooks.inbound.event_types): {"header": …}, {"path": …} or {"template": …}.
    event_type_from = models.JSONField(null=True, blank=True, default=None)
    # CIDR networks requests may come from; empty: anywhere (webhooks.inbound.allowlist).
    allowed_ips = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # The URL token is a capability: looked up by its hash, shown from its encrypted copy.
    token = EncryptedTextField()
    token_hash = models.CharField(max_length=64, unique=True)
    failed_verifications = models.PositiveIntegerField(default=0)
    last_failure_reason = models.CharField(max_length=500, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class InboundEvent(models.Model):
    """A verified request, stored before anything else happens to it (dj-stripe's pattern)."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (no rule matched)"
        FAILED = "failed", "Failed"

    id = PublicIdField(prefix="iev")
    # No index of its own: inbound_log leads with the account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="inbound_events", db_index=False
    )
    endpoint = models.ForeignKey(InboundEndpoint, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=200, blank=True)
    dedup_key = models.CharField(max_length=255)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    content_type = models.CharField(max_length=200, blank=True)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    # The first message it made; all of them are its `messages` (InboundEventMessage).
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_events"
    )
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "dedup_key"], name="inbound_dedup")
        ]
        indexes = [
            # In byte order, so only they give the log's order (oneping.logorder).
            models.Index(F("account"), log_index_key(), name="inbound_log"),
            models.Index(F("account"), F("status"), log_index_key(), name="inbound_by_status"),
            models.Index(fields=["status", "enqueued_at"], name="inbound_sweep"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.event_type} ({self.status})"


class InboundEventMessage(models.Model):
    """A message an inbound event made, by the rule that made it: at most one per (event,
    rule id), so reprocessing an event sends only the rules' messages it has not made."""

    event = models.ForeignKey(InboundEvent, on_delete=models.CASCADE, related_name="made")
    rule_id = models.CharField(max_length=64)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "rule_id"], name="inbound_message_per_rule")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.rule_id} → {self.message_id}"
