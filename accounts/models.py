from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone

from oneping.ids import PublicIdField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in to the dashboard. The email address is the login."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Plan(models.Model):
    """Plan limits are data, so new tiers need no code change."""

    FREE = "free"

    name = models.SlugField(unique=True, help_text="Stable code used in the API, e.g. 'free'.")
    display_name = models.CharField(max_length=100)
    monthly_quota = models.PositiveIntegerField(help_text="Messages per calendar month (UTC).")
    api_requests_per_minute = models.PositiveIntegerField(
        default=600, help_text="API requests per minute and API key before 429."
    )
    # Caps on what one environment may hold (accounts.limits.limit_for reads them); a test
    # environment follows its live account's plan and counts its own rows apart.
    max_webhook_endpoints = models.PositiveIntegerField(
        default=20, db_default=20, help_text="Webhook endpoints per account (disabled ones count)."
    )
    max_inbound_endpoints = models.PositiveIntegerField(
        default=20, db_default=20, help_text="Inbound endpoints per account (disabled ones count)."
    )
    max_api_keys = models.PositiveIntegerField(
        default=50,
        db_default=50,
        help_text="Active API keys per account, live and test counted apart.",
    )
    max_members = models.PositiveIntegerField(
        default=5, db_default=5, help_text="Members per account, pending invitations included."
    )
    # Whole cents, so no float ever rounds a price.
    price_amount = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Monthly price in the currency's smallest unit (cents)."
    )
    price_currency = models.CharField(
        max_length=3,
        default="usd",
        db_default="usd",
        help_text="ISO 4217 code, lower case as Stripe has it.",
    )
    stripe_price_id = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_default="",
        help_text="Stripe price (price_…); blank: the STRIPE_PRICE_<NAME> setting.",
    )
    public = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Listed by GET /api/v1/plans and on the dashboard's plan page.",
    )

    class Meta:
        ordering = ["price_amount", "monthly_quota"]

    def __str__(self) -> str:
        return self.display_name

    def price_id(self) -> str:
        """The Stripe price this plan is sold at: the admin's field when set, else the
        STRIPE_PRICE_<NAME> setting (STRIPE_PRICE_PRO, STRIPE_PRICE_BUSINESS); '' for none."""
        if self.stripe_price_id:
            return self.stripe_price_id
        return str(getattr(settings, f"STRIPE_PRICE_{self.name.upper()}", "") or "")


class Account(models.Model):
    """The tenant. Every customer object belongs to exactly one account."""

    id = PublicIdField(prefix="acct")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="accounts"
    )
    # Test mode (accounts.environments): every account has, once first used, a sibling row
    # holding its test environment — the objects made with op_test_ keys or with the
    # dashboard's test mode switched on. Being a row of its own, it inherits every scoping
    # rule, unique constraint and index unchanged. `live_account` is set on that sibling
    # only; people are members of the live row. The database's default too: a row written
    # outside today's models (raw SQL, a migration test's historical model) is a live account.
    livemode = models.BooleanField(default=True, db_default=True, editable=False)
    live_account = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.CASCADE,
        related_name="test_environment",
    )
    # Billing (accounts/billing/), on the live account only: Stripe's ids for the customer
    # and the subscription, the subscription's status and end date as Stripe last told us
    # (re-read from Stripe for each event: accounts.billing.processing), and whether a
    # payment failed (the dashboard's banner until an invoice is paid).
    stripe_customer_id = models.CharField(
        max_length=255, blank=True, default="", db_default="", editable=False, db_index=True
    )
    stripe_subscription_id = models.CharField(
        max_length=255, blank=True, default="", db_default="", editable=False, db_index=True
    )
    subscription_status = models.CharField(
        max_length=32,
        blank=True,
        default="",
        db_default="",
        editable=False,
        help_text="Stripe's subscription status (active, past_due, canceled…); blank: none.",
    )
    subscription_cancel_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a cancelled subscription ends."
    )
    payment_problem = models.BooleanField(
        default=False,
        db_default=False,
        editable=False,
        help_text="A payment failed or the subscription is past due: the dashboard says so.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(livemode=True, live_account__isnull=True)
                | models.Q(livemode=False, live_account__isnull=False),
                name="test_environment_has_a_live_account",
            )
        ]

    def __str__(self) -> str:
        return self.name if self.livemode else f"{self.name} (test mode)"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"


class MonthlyUsage(models.Model):
    """Messages accepted for one account in one calendar month (UTC), and the quota
    warnings sent for it.

    One row per account and month; the send service increments `used` with a conditional
    UPDATE so concurrent requests can never pass the plan's limit.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage")
    period_start = models.DateField()
    used = models.PositiveIntegerField(default=0)
    # The highest quota warning (80, 100; 0: none) sent for this period: set by a
    # conditional UPDATE (accounts.quota_warnings), so each level is sent once per period
    # however many sends cross it at once. A database default, as Account.livemode's: rows
    # written by older code or raw SQL start unwarned.
    warned_percent = models.PositiveSmallIntegerField(default=0, db_default=0)
    # The plan and quota in force, written with every message counted (accounts.quota):
    # a past month keeps those of its last message, the usage history shows them. Null
    # for a test environment's rows (a daily cap, not a plan; the name then "") and for rows
    # older than these columns.
    plan_name = models.CharField(max_length=50, blank=True, default="", db_default="")
    plan_limit = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_start"], name="unique_usage_per_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.period_start:%Y-%m}: {self.used}"


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A secret that authenticates API calls for one account.

    Only the SHA-256 of the key is stored: keys carry 256 bits of randomness, so a fast
    hash is enough (a slow password hash would only slow every request). A short prefix is
    kept in clear so people can tell their keys apart.
    """

    id = PublicIdField(prefix="key")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=20, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Fail closed: a key made without naming its scopes can do nothing. The issuing
    # service (accounts.api_keys.issue_key) names them; see accounts.scopes for the rule.
    scopes = models.JSONField(default=list, help_text="Any of send, read, admin.")
    # Who minted the key: a person (dashboard) or another key (API); neither for the
    # create_api_key command. Removing or demoting that person revokes what they minted.
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_api_keys",
    )
    created_by_key = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="minted_keys"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class InvitationQuerySet(models.QuerySet):
    def pending(self, now=None):
        """Not yet accepted and not expired: the invitations whose link still works."""
        now = now or timezone.now()
        return self.filter(accepted_at__isnull=True, created_at__gt=now - Invitation.LIFETIME)


class Invitation(models.Model):
    """An email address asked to join an account with a role, through a one-time link.

    Like API keys, only the SHA-256 of the link's token is stored: whoever reads the
    database cannot join accounts with it. The person who accepts may be logged in with any
    email address; the link itself is the proof of having received the invitation.
    """

    LIFETIME = timedelta(days=7)

    id = PublicIdField(prefix="inv")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.email} to {self.account} ({self.role})"

    @property
    def expires_at(self):
        return self.created_at + self.LIFETIME


class StripeEvent(models.Model):
    """A Stripe webhook event, stored once verified and before it is processed (the house's
    "store the untrusted request first", as dj-stripe's WebhookEventTrigger): processing
    runs in a worker (accounts.billing.processing), is idempotent by Stripe's event id,
    and keeps its error here; the admin reprocesses."""

    stripe_id = models.CharField(max_length=255, unique=True, help_text="Stripe's evt_… id.")
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_events"
    )
    received_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["processed_at", "received_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"
