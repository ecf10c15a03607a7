"""Signing inbound requests the way each sender documents it (independent of our code)."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks.webhooks import Webhook

FIXTURES = Path(__file__).parent / "fixtures" / "inbound"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def github_headers(secret: str, body: bytes, event: str, delivery: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "HTTP_X_HUB_SIGNATURE_256": f"sha256={digest}",
        "HTTP_X_GITHUB_EVENT": event,
        "HTTP_X_GITHUB_DELIVERY": delivery,
    }


def stripe_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    # https://docs.stripe.com/webhooks#verify-manually
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {"HTTP_STRIPE_SIGNATURE": f"t={timestamp},v1={signature},v0=deadbeef"}


def shopify_headers(secret: str, body: bytes, topic: str, webhook_id: str) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "HTTP_X_SHOPIFY_HMAC_SHA256": digest,
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id,
    }


def standard_headers(
    secret: str, body: bytes, msg_id: str, when: datetime | None = None
) -> dict[str, str]:
    when = when or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    return {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(when.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }


def hmac_headers(secret: str, body: bytes, header: str = "X-Webhook-Signature") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"HTTP_" + header.upper().replace("-", "_"): f"sha256={digest}"}


def as_json(data) -> bytes:
    return json.dumps(data).encode()


def create_inbound_endpoint(api, **fields) -> dict:
    """An inbound endpoint made through the API (the response, with its `url`)."""
    response = api.post_json("/api/v1/inbound-endpoints", {"name": "hook", **fields})
    assert response.status_code == 201, response.content
    return response.json()


def inbound_path(endpoint: dict) -> str:
    """The /hooks/in/<token> path of an endpoint, for Django's test client."""
    return endpoint["url"].split("testserver", 1)[-1]


def send_to_slack_rule(message: str = "{{ event }}") -> list[dict]:
    return [{"event": "*", "message": message, "channels": ["slack"], "recipient": "ops"}]
