"""API keys: how they look, how they are issued, checked and revoked."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Account, ApiKey, User

KEY_PREFIX = "op_live_"
# 32 random bytes → 43 URL-safe characters (the issue asks for at least 32).
KEY_RANDOM_BYTES = 32
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 6


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def looks_like_key(raw_key: str) -> bool:
    return (
        raw_key.startswith(KEY_PREFIX)
        and len(raw_key) >= len(KEY_PREFIX) + 32
        and len(raw_key) <= 128
        and raw_key.isascii()
    )


def issue_key(account: Account, name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
    """Create a key; the raw key is returned here once and never stored."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)
    api_key = ApiKey.objects.create(
        account=account,
        name=name,
        prefix=raw_key[:DISPLAY_PREFIX_LENGTH],
        key_hash=hash_key(raw_key),
        created_by=created_by,
    )
    return api_key, raw_key


def revoke_key(api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


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
