"""Twilio's message status callbacks (SMS, and WhatsApp through Twilio): a form POST to the
StatusCallback URL each send names, at every status change.
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
"""

from typing import Any

from twilio.request_validator import RequestValidator

from channels_app.integrations import callbacks
from channels_app.integrations.base import ProviderCode
from channels_app.integrations.callbacks import (
    CallbackProvider,
    CallbackRequest,
    ParsedReport,
    VerificationFailed,
)
from channels_app.integrations.twilio.errors import lookup

# MessageStatus values that say what became of the message. queued, accepted, scheduled
# and sending are Twilio's own steps before "sent": acknowledged, not stored.
# https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
STATUSES = {
    "sent": callbacks.SENT,
    "delivered": callbacks.DELIVERED,
    "read": callbacks.READ,  # WhatsApp read receipts
    "undelivered": callbacks.FAILED,
    "failed": callbacks.FAILED,
    "canceled": callbacks.FAILED,  # a scheduled message canceled before it went out
}
# The form fields kept with a report: what identifies and explains it (no message body).
KEPT_FIELDS = (
    "MessageSid",
    "SmsSid",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "ErrorMessage",
    "AccountSid",
    "MessagingServiceSid",
    "From",
    "To",
    "ApiVersion",
    "RawDlrDoneDate",
    "ChannelPrefix",
)


class TwilioCallbacks(CallbackProvider):
    name = "twilio"
    title = "Twilio"
    told_with_each_send = True
    setup_help = (
        "Nothing to set up: every message oneping sends asks Twilio to report its status "
        "to this URL (the `StatusCallback` parameter), and checks Twilio's signature on "
        "each report with the channel's auth token."
    )

    def verify(self, request: CallbackRequest, config: dict[str, Any]) -> None:
        # X-Twilio-Signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL
        # Twilio called followed by the POSTed fields sorted by name.
        # https://www.twilio.com/docs/usage/security#validating-requests
        signature = request.headers.get("x-twilio-signature", "")
        token = config.get("auth_token") or ""
        if not signature or not token:
            raise VerificationFailed("The X-Twilio-Signature header is missing.")
        if not RequestValidator(token).validate(request.url, request.form, signature):
            raise VerificationFailed("The X-Twilio-Signature does not match this request.")

    def reports(self, request: CallbackRequest, config: dict[str, Any]) -> list[ParsedReport]:
        form = request.form
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        provider_status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        status = STATUSES.get(provider_status)
        if not sid or status is None:
            return []
        # Twilio sends ErrorCode with failures (and sometimes an informational one with
        # "delivered", kept in the dedup key as Twilio's docs name it).
        code = (form.get("ErrorCode") or "").strip()
        failed = status == callbacks.FAILED
        text = self.describe_error(code, form.get("ErrorMessage", "")) if failed else ""
        return [
            ParsedReport(
                provider_message_id=sid,
                status=status,
                provider_status=provider_status,
                # Twilio sends each status of a message once, and again only when our answer
                # failed: the sid, status and error code name a report.
                dedup_key=f"{sid}:{provider_status}:{code}",
                payload={name: form[name] for name in KEPT_FIELDS if name in form},
                error_code=code,
                error_text=text,
            )
        ]

    def acknowledgement(self, stored: int, duplicates: int) -> str:
        # Twilio reads the answer as TwiML: an empty 200 says "nothing to do".
        # https://www.twilio.com/docs/usage/webhooks/messaging-webhooks#type-2-status-callbacks
        return ""

    def lookup(self, code: str) -> ProviderCode | None:
        return lookup(code)
