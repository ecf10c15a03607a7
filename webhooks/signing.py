"""Signing outgoing webhooks the Standard Webhooks way (https://www.standardwebhooks.com/).

    webhook-id:        the event id (stable across retries: receivers dedupe on it)
    webhook-timestamp: unix seconds of this attempt
    webhook-signature: "v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>" keyed with the
                       base64-decoded secret; several, space-separated, while a rotation
                       overlaps (spec: "Signature scheme", "Key rotation")

plus X-Webhook-Signature, the hex HMAC-SHA256 of the body keyed with the whole secret
string: simpler for receivers, but with no replay protection (no timestamp is signed).
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def standard_signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def simple_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_headers(
    secrets_in_use: list[str], event_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Headers for one attempt; the first secret is the current one."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_signature(secret, event_id, timestamp, body) for secret in secrets_in_use
        ),
        "X-Webhook-Signature": simple_signature(secrets_in_use[0], body),
    }
