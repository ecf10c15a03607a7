import secrets

from django.db import models
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from channels_app.integrations import kind_choices
from oneping.crypto import EncryptedJSONField, EncryptedTextField
from oneping.ids import PublicIdField
from oneping.logorder import log_index_key


def new_callback_token() -> str:
    return secrets.token_urlsafe(24)


def callback_path(provider: str, token: str) -> str:
    """Where `provider` reports the delivery statuses of the channel with this callback
    token (a path: oneping.public_url.absolute_url makes the URL)."""
    return f"/hooks/providers/{provider}/{token}/"


class ChannelConfig(models.Model):
    """How an account reaches one kind of channel. The whole config is encrypted at rest."""

    id = PublicIdField(prefix="chn")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="channels")
    # The registry's kinds, read when asked: a new kind needs no migration.
    kind = models.CharField(max_length=20, choices=kind_choices)
    config = EncryptedJSONField(default=dict)
    # Names the channel in the URL its provider reports delivery statuses to
    # (/hooks/providers/<provider>/<callback_token>/). An identifier, not a credential: a
    # callback is trusted for its provider's signature, checked with the channel's secret.
    callback_token = models.CharField(
        max_length=64, unique=True, default=new_callback_token, editable=False
    )
    # Operator-only (the admin): this channel's deliveries are not paced nor kept in order
    # (channels_app.pacing). For the benchmark's throughput phase and for a customer whose
    # provider plan has no per-destination limit; never settable through the API.
    unpaced = models.BooleanField(
        default=False,
        help_text="Send without pacing or per-destination order (operators only).",
    )
    # A test environment's channel made on the fly by a send (channels_app.accepting),
    # config {}: every kind is available in test mode unconfigured. Creating the channel
    # with a test key adopts the row instead of answering 409 (channels_app.channels).
    simulated = models.BooleanField(
        default=False,
        help_text="Made by a test-mode send, not configured by the customer.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind"], name="one_config_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.account}"

    def callback_path(self, provider: str) -> str:
        return callback_path(provider, self.callback_token)


class Contact(models.Model):
    """A named recipient with an address per channel (encrypted: webhook URLs are secrets)."""

    id = PublicIdField(prefix="cnt")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    identifier = models.CharField(max_length=255)
    name = models.CharField(max_length=200, blank=True)
    addresses = EncryptedJSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "identifier"], name="unique_contact_identifier"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.identifier


class Message(models.Model):
    """One accepted /send call: what to say, to whom, on which channels."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DELIVERED = "delivered", "Delivered"
        PARTIALLY_FAILED = "partially_failed", "Partially failed"
        FAILED = "failed", "Failed"

    id = PublicIdField(prefix="msg")
    # No index of its own: message_log leads with the account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    recipient = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    channels = models.JSONField(default=list)
    fallback_channels = models.JSONField(default=list)
    metadata = models.JSONField(default=dict, blank=True)
    # /send's channel_options as each kind's clean_options returned them ({kind: options});
    # the transport of that kind gets its entry (Outgoing.options).
    channel_options = models.JSONField(default=dict, blank=True)
    callback_url = models.URLField(max_length=2048, blank=True)
    retry = models.BooleanField(default=True)
    # A channel's "Send a test" message (channels_app.channels.send_test): free, capped per
    # channel and day. Not to be confused with test mode (accounts.environments).
    is_channel_test = models.BooleanField(default=False)
    # Derived from the deliveries (see delivery.refresh_message_status) and stored so the
    # log can filter on it without scanning every delivery.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            # Built on the id's byte order: see oneping.logorder for why.
            models.Index(F("account"), log_index_key(), name="message_log"),
            models.Index(F("account"), F("status"), log_index_key(), name="message_log_status"),
            models.Index(
                F("account"), F("recipient"), log_index_key(), name="message_log_recipient"
            ),
            models.Index(fields=["account", "created_at"], name="message_log_created"),
        ]

    def __str__(self) -> str:
        return self.id


class Delivery(models.Model):
    """One message on one channel: its status, attempts and provider answers."""

    class Status(models.TextChoices):
        STANDBY = "standby", "Standby (fallback)"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        RETRYING = "retrying", "Retrying"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        # The provider reported that the recipient opened it (a chat app's read receipt).
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        # The recipient marked it as spam: it reached them, and they want no more.
        COMPLAINED = "complained", "Complained"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        SKIPPED = "skipped", "Skipped (fallback not needed)"

    SUCCEEDED = frozenset(
        {Status.SENT, Status.DELIVERED, Status.READ, Status.OPENED, Status.CLICKED}
    )
    # Failures: each starts the message's fallbacks, and a manual retry may send it again.
    ENDED_FAILED = frozenset({Status.FAILED, Status.BOUNCED, Status.COMPLAINED})
    FINAL = SUCCEEDED | ENDED_FAILED | {Status.SKIPPED}
    IN_FLIGHT = frozenset({Status.QUEUED, Status.SENDING, Status.RETRYING})

    id = PublicIdField(prefix="dlv")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    # No index of its own: delivery_log leads with the account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    channel = models.CharField(max_length=20, choices=kind_choices)
    # What people see (an email, a chat id, "channel webhook"); never a secret.
    address = models.CharField(max_length=255)
    # Where the transport sends: the real address, "" for the channel's own webhook.
    target = EncryptedTextField(blank=True, default="")
    fallback_order = models.PositiveSmallIntegerField(
        default=0, help_text="0 for the requested channels; 1, 2… for fallbacks in order."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    # How many parts the text is sent (and billed) in, for kinds that count them (phone
    # segments: Integration.check_text); null for the others.
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    # Opens and clicks reported (by oneping's own tracking or an email provider), the
    # first and every later one: channels_app.tracking.counts.
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    provider_message_id = models.CharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Pacing (channels_app.pacing): the destination this delivery is ordered within (a
    # hash of account, kind and target; "" when unpaced). Only the oldest in-flight
    # delivery of a destination is claimed, so they leave in acceptance (id) order.
    destination = models.CharField(max_length=64, blank=True, default="")
    # Waiting for its destination's token: claimable again from this time (status queued).
    paced_until = models.DateTimeField(null=True, blank=True)
    # A retrying delivery holds the later ones of its destination until this time
    # (ONEPING_PACING_ORDER_WAIT_SECONDS after its first transient failure); then they go on.
    holds_order_until = models.DateTimeField(null=True, blank=True)
    # Set when a delivery of a kind whose provider reports its fate later (reports_fate)
    # reaches "sent"; cleared by a final report. Until then, or until this time passes
    # (channels_app.fates), the message's fallbacks wait on standby.
    fate_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["fallback_order", "id"]
        indexes = [
            models.Index(fields=["status", "enqueued_at"], name="delivery_sweep"),
            models.Index(F("account"), log_index_key(), name="delivery_log"),
            models.Index(F("account"), F("status"), log_index_key(), name="delivery_by_status"),
            # A provider's status report finds its delivery (channels_app.reports).
            models.Index(
                fields=["account", "channel", "provider_message_id"], name="delivery_by_provider_id"
            ),
            # The fate wait's periodic task (channels_app.fates).
            models.Index(fields=["status", "fate_due_at"], name="delivery_fate_due"),
            # The claim's head-of-destination check and the hand-off to the next one.
            models.Index(
                fields=["destination", "status", "id"],
                name="delivery_destination",
                condition=~models.Q(destination=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.channel}, {self.status})"

    @classmethod
    def from_db(cls, db: str, field_names: list[str], values: list) -> "Delivery":
        delivery = super().from_db(db, field_names, values)
        # The status the row held when read: what the usage rollup counts it under until a
        # status change is recorded (channels_app.rollup.count_changes).
        delivery.counted_status = delivery.__dict__.get("status")
        return delivery

    @property
    def is_fallback(self) -> bool:
        return self.fallback_order > 0

    @property
    def steps(self) -> list["TimelineEntry"]:
        """The timeline as shown: acceptance, then every stored status change.

        Acceptance is not stored as an entry: it is the delivery row's own creation, and
        one INSERT fewer on every /send is worth it (docs/benchmarks.md)."""
        accepted = TimelineEntry(
            delivery=self,
            status=self.Status.STANDBY if self.is_fallback else self.Status.QUEUED,
            at=self.created_at,
            attempt=0,
            detail="accepted",
        )
        return [accepted, *self.timeline.all()]


class TimelineEntry(models.Model):
    """A status change of a delivery, with the provider's answer or the error."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="timeline")
    status = models.CharField(max_length=20, choices=Delivery.Status.choices)
    at = models.DateTimeField(default=timezone.now)
    attempt = models.PositiveIntegerField(default=0)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` seen in the last 24 h, with the answer it got.

    The unique constraint is the lock: of two concurrent requests with one key, the second
    insert waits for the first transaction and then fails, and replays its answer.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    message = models.ForeignKey(Message, null=True, on_delete=models.SET_NULL, related_name="+")
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="unique_idempotency_key")
        ]

    def __str__(self) -> str:
        return self.key


class ProviderReport(models.Model):
    """One status report a provider sent to a channel's callback URL (a Twilio status
    callback; one entry of a Meta webhook's statuses[]; next, email providers' tracking
    events, issue #17), stored once its signature verified and before anything else
    happens (dj-stripe's pattern, STYLE.md), then applied to its delivery by a worker
    (channels_app.callbacks.processing)."""

    class Reported(models.TextChoices):
        """What a provider may report about a delivery (channels_app.reports decides what
        each does to it, on one precedence table)."""

        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        # A delay the provider is still working through (an email's soft bounce being
        # retried): kept on the timeline, never a status.
        DEFERRED = "deferred", "Deferred"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLYING = "applying", "Applying"
        # Its delivery is not known yet (the send's answer is still being recorded).
        RETRYING = "retrying", "Retrying"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"

    id = PublicIdField(prefix="rpt")
    # No index of its own: provider_report_log leads with the account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="provider_reports", db_index=False
    )
    channel = models.ForeignKey(ChannelConfig, on_delete=models.CASCADE, related_name="reports")
    provider = models.CharField(max_length=20)
    provider_message_id = models.CharField(max_length=255)
    reported_status = models.CharField(max_length=20, choices=Reported.choices)
    # The provider's own word for it (Twilio's "undelivered", Meta's "failed").
    provider_status = models.CharField(max_length=40)
    error_code = models.CharField(max_length=40, blank=True)
    error_text = models.TextField(blank=True)
    # A bounce's kind: "hard" (the address is bad: it joins the suppression list) or
    # "soft" (a full mailbox, a message too large; the address may work later), as the
    # provider names it ("" for other reports).
    bounce_type = models.CharField(max_length=10, blank=True)
    provider_timestamp = models.DateTimeField(null=True, blank=True)
    # Twilio: sid + status + error code; Meta: id + status + timestamp. Unique per channel,
    # so a provider's retry of the same report stores nothing (the constraint, not a check).
    dedup_key = models.CharField(max_length=255)
    payload = models.JSONField(default=dict)
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "dedup_key"], name="provider_report_dedup")
        ]
        indexes = [
            models.Index(F("account"), log_index_key(), name="provider_report_log"),
            models.Index(fields=["status", "enqueued_at"], name="provider_report_sweep"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.provider} {self.provider_status} ({self.status})"


class Suppression(models.Model):
    """An address the account no longer sends to on one kind of channel: it hard-bounced,
    its owner complained (marked a message as spam) or opted out (replied STOP). A delivery
    to it fails at once, without calling the provider (channels_app.suppressions), until
    someone lifts it. Per kind: a bounced mailbox says nothing about an SMS to its owner."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        COMPLAINT = "complaint", "Complaint"
        OPT_OUT = "opt_out", "Opt-out"

    id = PublicIdField(prefix="sup")
    # No index of its own: the unique constraint and suppression_log lead with the account.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="suppressions", db_index=False
    )
    channel = models.CharField(max_length=20, choices=kind_choices)
    # Normalised as deliveries are compared to it (suppressions.normalize): an email
    # lower-cased, a phone number in E.164.
    address = models.CharField(max_length=255)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    # What the provider said ("550 5.1.1 mailbox unknown", Twilio's error 21610).
    description = models.TextField(blank=True)
    # The delivery whose bounce, complaint or refusal put it here (null once deleted).
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "channel", "address"], name="one_suppression_per_address"
            )
        ]
        indexes = [models.Index(F("account"), log_index_key(), name="suppression_log")]

    def __str__(self) -> str:
        return f"{self.channel} {self.address} ({self.reason})"


class PaceBucket(models.Model):
    """One pacing bucket's state when the database is the pacing store (the embedded
    default; channels_app.pacing.store): GCRA's theoretical arrival time and a pause."""

    key = models.CharField(max_length=120, primary_key=True)
    # Seconds since the epoch: when the bucket is next empty (GCRA's TAT).
    tat = models.FloatField(default=0.0)
    # Seconds since the epoch: no token before then (a provider's 429 or rate-limit reset).
    paused_until = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class UsageRollup(models.Model):
    """How many deliveries of an account's messages accepted in one UTC month are on one
    channel in one status, kept up to date on write (channels_app.rollup): the usage
    history (GET /api/v1/usage, the plan page) reads these few rows, not the message log.

    Statuses not yet final (standby, queued, sending, retrying) are counted together as
    "pending": a claim or a retry then writes nothing here."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    # The first day of the UTC month the message was accepted in.
    month = models.DateField()
    channel = models.CharField(max_length=20)
    status = models.CharField(max_length=20)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month", "channel", "status"], name="one_rollup_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m} {self.channel} {self.status}: {self.count}"
