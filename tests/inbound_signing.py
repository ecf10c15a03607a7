"""Signing inbound requests the way each of the second wave's senders documents it, with
hashlib/hmac and the standardwebhooks library only (not oneping's code): Django test
client headers (HTTP_…)."""

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def _hmac(secret: str, message: bytes, algorithm=hashlib.sha256) -> bytes:
    return hmac.new(secret.encode(), message, algorithm).digest()


def meta(name: str) -> str:
    return "HTTP_" + name.upper().replace("-", "_")


def gitlab(secret: str, body: bytes, event: str, uuid: str, *, signed: bool = False):
    # https://docs.gitlab.com/user/project/integrations/webhooks/
    headers = {
        "HTTP_X_GITLAB_EVENT": event,
        "HTTP_X_GITLAB_EVENT_UUID": uuid,
        "HTTP_X_GITLAB_TOKEN": secret,
        "HTTP_IDEMPOTENCY_KEY": f"idem-{uuid}",
    }
    if signed:
        when = datetime.now(UTC)
        headers.update(
            HTTP_WEBHOOK_ID=f"idem-{uuid}",
            HTTP_WEBHOOK_TIMESTAMP=str(int(when.timestamp())),
            HTTP_WEBHOOK_SIGNATURE=Webhook(secret).sign(f"idem-{uuid}", when, body.decode()),
        )
    return headers


def bitbucket(secret: str, body: bytes, event: str):
    return {
        "HTTP_X_EVENT_KEY": event,
        "HTTP_X_REQUEST_UUID": "6b2d2a26-7f3a-4d1e-9d1e-3c7f0f5e1a11",
        "HTTP_X_HUB_SIGNATURE": "sha256=" + _hmac(secret, body).hex(),
    }


def woocommerce(secret: str, body: bytes, topic: str, delivery: str = "d41d8cd98f00b204"):
    return {
        "HTTP_X_WC_WEBHOOK_SOURCE": "https://shop.example/",
        "HTTP_X_WC_WEBHOOK_TOPIC": topic,
        "HTTP_X_WC_WEBHOOK_RESOURCE": topic.split(".")[0],
        "HTTP_X_WC_WEBHOOK_EVENT": topic.split(".")[1],
        "HTTP_X_WC_WEBHOOK_ID": "12",
        "HTTP_X_WC_WEBHOOK_DELIVERY_ID": delivery,
        "HTTP_X_WC_WEBHOOK_SIGNATURE": base64.b64encode(_hmac(secret, body)).decode(),
    }


def typeform(secret: str, body: bytes):
    return {"HTTP_TYPEFORM_SIGNATURE": "sha256=" + base64.b64encode(_hmac(secret, body)).decode()}


def sentry(secret: str, body: bytes, resource: str):
    return {
        "HTTP_SENTRY_HOOK_RESOURCE": resource,
        "HTTP_SENTRY_HOOK_TIMESTAMP": str(int(time.time())),
        "HTTP_REQUEST_ID": "e8b2bd4f-3a52-4cdb-9d3e-8c9e3c3f7d11",
        "HTTP_SENTRY_HOOK_SIGNATURE": _hmac(secret, body).hex(),
    }


def slack(secret: str, body: bytes, timestamp: int | None = None):
    # https://api.slack.com/authentication/verifying-requests-from-slack
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = _hmac(secret, f"v0:{timestamp}:".encode() + body).hex()
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": str(timestamp),
        "HTTP_X_SLACK_SIGNATURE": f"v0={signature}",
    }


def pagerduty(secrets: list[str], body: bytes):
    # https://developer.pagerduty.com/docs/webhooks/webhook-signatures/
    signatures = ",".join("v1=" + _hmac(secret, body).hex() for secret in secrets)
    return {"HTTP_X_PAGERDUTY_SIGNATURE": signatures}


def grafana(secret: str, body: bytes, timestamp: int | None = None):
    # Grafana's webhook contact point, HMAC signature with a timestamp header: hex
    # HMAC-SHA256 of "{timestamp}:{body}".
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}:".encode() + body
    return {
        "HTTP_X_GRAFANA_ALERTING_SIGNATURE": _hmac(secret, signed).hex(),
        "HTTP_X_GRAFANA_ALERTING_SIGNATURE_TIMESTAMP": str(timestamp),
    }


def bearer(token: str):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def generic_hmac(
    secret: str,
    body: bytes,
    *,
    header: str,
    algorithm: str = "sha256",
    encoding: str = "hex",
    prefix: str = "",
    timestamp_header: str = "",
    separator: str = "",
    timestamp: int | None = None,
):
    message = body
    headers = {}
    if timestamp_header:
        timestamp = int(time.time()) if timestamp is None else timestamp
        message = f"{timestamp}{separator}".encode() + body
        headers[meta(timestamp_header)] = str(timestamp)
    digest = _hmac(secret, message, getattr(hashlib, algorithm))
    encoded = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    headers[meta(header)] = prefix + encoded
    return headers
