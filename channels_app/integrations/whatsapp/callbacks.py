"""Meta's WhatsApp Cloud API webhooks: the app's callback URL is checked once by a GET
(hub.challenge), then every POST is signed with the app secret and may carry several
message statuses (and incoming messages, which oneping does not take yet).
https://developers.facebook.com/docs/graph-api/webhooks/getting-started
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components#statuses-object
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from channels_app.integrations import callbacks
from channels_app.integrations.base import ProviderCode
from channels_app.integrations.callbacks import (
    CallbackProvider,
    CallbackRequest,
    Challenge,
    ParsedReport,
    VerificationFailed,
)
from channels_app.integrations.whatsapp.meta_errors import lookup

# statuses[].status values; "deleted" and "warning" say nothing about delivery.
STATUSES = {
    "sent": callbacks.SENT,
    "delivered": callbacks.DELIVERED,
    "read": callbacks.READ,
    "failed": callbacks.FAILED,
}


class MetaCallbacks(CallbackProvider):
    name = "whatsapp"
    title = "Meta"
    told_with_each_send = False
    setup_help = (
        "In your Meta app's dashboard, open *WhatsApp → Configuration → Webhook*, paste "
        "this URL as the *Callback URL* and the channel's `verify_token` as the *Verify "
        "token*, then subscribe to the `messages` field. Meta checks the URL at once; each "
        "report is then verified with the channel's `app_secret`. "
        "[Meta's guide](https://developers.facebook.com/docs/graph-api/webhooks/getting-started)"
    )

    def challenge(self, request: CallbackRequest, config: dict[str, Any]) -> Challenge:
        # Meta's verification request: hub.mode=subscribe, our verify token, and a challenge
        # to echo back with 200. https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
        query = request.query
        expected = config.get("verify_token") or ""
        given = query.get("hub.verify_token", "")
        matches = bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
        if query.get("hub.mode") != "subscribe" or not matches:
            return Challenge(403, "The verify token does not match this channel's.")
        return Challenge(200, query.get("hub.challenge", ""))

    def verify(self, request: CallbackRequest, config: dict[str, Any]) -> None:
        # X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body, keyed with the
        # app secret. https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
        header = request.headers.get("x-hub-signature-256", "")
        secret = config.get("app_secret") or ""
        if not header.startswith("sha256=") or not secret:
            raise VerificationFailed("The X-Hub-Signature-256 header is missing.")
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(header[len("sha256=") :].strip().lower(), expected):
            raise VerificationFailed("The X-Hub-Signature-256 does not match the body.")

    def reports(self, request: CallbackRequest, config: dict[str, Any]) -> list[ParsedReport]:
        try:
            body = json.loads(request.body)
        except ValueError:
            return []
        found = []
        for value in _change_values(body):
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            number = str(metadata.get("phone_number_id") or "")
            # One Meta app reports for every number of its business account: only this
            # channel's number is this channel's news.
            if number and number != str(config.get("phone_number_id") or ""):
                continue
            for status in value.get("statuses") or []:
                report = self._report(status, number) if isinstance(status, dict) else None
                if report is not None:
                    found.append(report)
        return found

    def _report(self, status: dict[str, Any], number: str) -> ParsedReport | None:
        message_id = str(status.get("id") or "")
        provider_status = str(status.get("status") or "").lower()
        ours = STATUSES.get(provider_status)
        if not message_id or ours is None:
            return None
        timestamp = str(status.get("timestamp") or "")
        code, text = "", ""
        errors = status.get("errors")
        if ours == callbacks.FAILED and isinstance(errors, list) and errors:
            error = errors[0] if isinstance(errors[0], dict) else {}
            code = str(error.get("code") or "")
            data = error.get("error_data")
            details = data.get("details") if isinstance(data, dict) else None
            said = details or error.get("message") or error.get("title") or ""
            text = self.describe_error(code, str(said))
        payload = {
            key: status[key]
            for key in ("id", "status", "timestamp", "recipient_id", "errors", "pricing")
            if key in status
        }
        payload["phone_number_id"] = number
        return ParsedReport(
            provider_message_id=message_id,
            status=ours,
            provider_status=provider_status,
            # Meta may send a webhook again until it gets a 200: the message id, status
            # and timestamp name one report.
            dedup_key=f"{message_id}:{provider_status}:{timestamp}"[:255],
            payload=payload,
            error_code=code,
            error_text=text,
            provider_timestamp=_moment(timestamp),
        )

    def lookup(self, code: str) -> ProviderCode | None:
        return lookup(code)


def _change_values(body: Any) -> list[dict[str, Any]]:
    """entry[].changes[].value objects of a webhook body, whatever else it holds."""
    values = []
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                values.append(value)
    return values


def _moment(timestamp: str) -> datetime | None:
    """Meta's timestamps are Unix seconds, as a string."""
    try:
        return datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
