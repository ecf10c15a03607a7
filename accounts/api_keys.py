"""API keys: how they look, how they are issued, checked and revoked."""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import environments, limits
from accounts import scopes as scopes_module
from accounts.models import Account, ApiKey, User
from accounts.scopes import ALL_SCOPES
from oneping.errors import ServiceError

KEY_PREFIX = "op_live_"
# A test-mode key (accounts.environments): it acts in the account's test environment.
TEST_KEY_PREFIX = "op_test_"
PREFIXES = (KEY_PREFIX, TEST_KEY_PREFIX)
# 32 random bytes → 43 URL-safe characters (the issue asks for at least 32).
KEY_RANDOM_BYTES = 32
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 6


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def looks_like_key(raw_key: str) -> bool:
    return (
        raw_key.startswith(PREFIXES)
        and len(raw_key) >= len(KEY_PREFIX) + 32
        and len(raw_key) <= 128
        and raw_key.isascii()
    )


def issue_key(
    account: Account,
    name: str,
    scopes: Iterable[str] = ALL_SCOPES,
    *,
    created_by_user: User | None = None,
    created_by_key: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned here once and never stored. `account` is the
    environment the key acts in: a test environment's keys are op_test_ keys
    (accounts.environments); callers pick it with environments.environment(account, mode).

    The dashboard, the API and the create_api_key command all come here, so the same rules
    hold everywhere: at least one known scope, never more than the creating key holds, and
    at most the plan's max_api_keys active keys per environment (accounts.limits).
    """
    scopes = scopes_module.normalize(scopes)
    if not scopes:
        raise ServiceError("validation_error", "scopes: choose at least one of send, read, admin.")
    scopes_module.check_can_grant(created_by_key, scopes)
    if created_by_key is not None and account.livemode and not created_by_key.account.livemode:
        # A test key sees and makes only test objects; a live key may make test keys.
        raise ServiceError(
            "live_key_from_test_key",
            "A test-mode key cannot create live keys; use a live key or the dashboard.",
            status=403,
        )
    prefix = KEY_PREFIX if account.livemode else TEST_KEY_PREFIX
    raw_key = prefix + secrets.token_urlsafe(KEY_RANDOM_BYTES)
    with transaction.atomic():
        # The account row lock makes two concurrent creations count one after the other.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        limit = limits.limit_for(account, "api_keys")
        if ApiKey.objects.active().filter(account=account).count() >= limit:
            raise ServiceError(
                "limit_reached",
                f"This account has {limit} active API keys, the most it may have; "
                "revoke one before creating another.",
                details={"limit": limit, "resource": "api_keys"},
            )
        api_key = ApiKey.objects.create(
            account=account,
            name=name,
            scopes=scopes,
            prefix=raw_key[:DISPLAY_PREFIX_LENGTH],
            key_hash=hash_key(raw_key),
            created_by_user=created_by_user,
            created_by_key=created_by_key,
        )
    return api_key, raw_key


def revoke_key(api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


def revoke_keys_created_by(user: User, account: Account) -> list[ApiKey]:
    """Revoke the active keys `user` minted in `account` (live and test keys), and those
    their keys minted in turn (else a key could outlive its maker by minting a child
    first). Returns them."""
    revoked: list[ApiKey] = []
    seen: set[str] = set()
    live = environments.live_account(account)
    # Both environments: a live key may mint test keys (accounts.environments).
    both = [live.pk, *Account.objects.filter(live_account=live).values_list("pk", flat=True)]
    # Revoked keys are walked too: a child they minted earlier may still be active.
    frontier = list(ApiKey.objects.filter(account__in=both, created_by_user=user))
    now = timezone.now()
    while frontier:
        seen.update(key.pk for key in frontier)
        for key in frontier:
            if key.revoked_at is None:
                key.revoked_at = now
                revoked.append(key)
        frontier = [
            key
            for key in ApiKey.objects.filter(account__in=both, created_by_key__in=frontier)
            if key.pk not in seen
        ]
    ApiKey.objects.filter(pk__in=[key.pk for key in revoked], revoked_at__isnull=True).update(
        revoked_at=now
    )
    return revoked


def find_active_key(raw_key: str) -> ApiKey | None:
    if not looks_like_key(raw_key):
        return None
    return (
        ApiKey.objects.active()
        .select_related("account__plan")
        .filter(key_hash=hash_key(raw_key))
        .first()
    )


def record_use(api_key: ApiKey) -> None:
    """Refresh last_used_at at most once per ONEPING_API_KEY_TOUCH_SECONDS per key."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.ONEPING_API_KEY_TOUCH_SECONDS)
    if api_key.last_used_at is None or api_key.last_used_at < stale_before:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
