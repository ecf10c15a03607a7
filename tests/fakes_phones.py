"""Fake phone providers' send APIs: real servers on loopback answering like Twilio's
Messages API and Meta's WhatsApp Cloud API, with their documented success bodies and their
documented errors on demand.

- Twilio: https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
  (201 with the message resource), errors as
  https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions
- Meta: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages (200 with
  contacts and messages), errors as
  https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
"""

import itertools
import secrets
from typing import Any
from urllib.parse import parse_qs

from tests.fakes import Canned, FakeHTTPProvider, Received

# A Twilio account as the tests configure it (the shapes Twilio's are: AC/MG + 32 hex).
ACCOUNT_SID = "AC" + "1f2e3d4c5b6a7988" * 2
AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
MESSAGING_SERVICE_SID = "MG" + "0a1b2c3d4e5f6071" * 2
CONTENT_SID = "HX" + "b5c4d3e2f1a09887" * 2
FROM = "+14155550100"
# The phone number the tests send to (and providers report about).
TO = "+14155550199"
# A Meta app as the tests configure it.
PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAGm0PX4ZCpsBAKsecretaccesstokenZBZCxyz"
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERIFY_TOKEN = "verify-me-please"

SMS_CONFIG = {
    "provider": "twilio",
    "account_sid": ACCOUNT_SID,
    "auth_token": AUTH_TOKEN,
    "from": FROM,
}
WHATSAPP_TWILIO_CONFIG = dict(SMS_CONFIG)
WHATSAPP_META_CONFIG = {
    "provider": "meta",
    "phone_number_id": PHONE_NUMBER_ID,
    "access_token": ACCESS_TOKEN,
    "app_secret": APP_SECRET,
    "verify_token": VERIFY_TOKEN,
}
SECRETS = [AUTH_TOKEN, ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN]

_numbers = itertools.count(1)


def form_of(received: Received) -> dict[str, str]:
    """The form fields of a request to Twilio (each sent once)."""
    return {key: values[0] for key, values in parse_qs(received.body.decode()).items()}


class FakeTwilio(FakeHTTPProvider):
    """POST /2010-04-01/Accounts/{sid}/Messages.json: 201 and the message resource."""

    def __init__(self):
        super().__init__(default=Canned(201))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.status != 201 or canned.body is not None:
            return canned
        form = form_of(received)
        return Canned(
            201,
            {
                "sid": f"SM{secrets.token_hex(16)}",
                "account_sid": received.path.split("/")[3],
                "to": form.get("To"),
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body", ""),
                "status": "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
                "api_version": "2010-04-01",
            },
        )

    @staticmethod
    def error(code: int, message: str, status: int = 400, **headers: str) -> Canned:
        return Canned(
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            headers=headers,
        )

    @classmethod
    def rate_limited(cls, retry_after: int) -> Canned:
        return cls.error(20429, "Too Many Requests", 429, **{"Retry-After": str(retry_after)})

    @classmethod
    def unavailable(cls, retry_after: int | None = None) -> Canned:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return cls.error(20500, "An internal server error has occurred", 503, **headers)


class FakeMeta(FakeHTTPProvider):
    """POST /{version}/{phone_number_id}/messages: 200 with the contact and message id."""

    def __init__(self):
        super().__init__(default=Canned(200))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.status != 200 or canned.body is not None:
            return canned
        to = received.json().get("to", "")
        return Canned(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                "messages": [{"id": f"wamid.HBgL{next(_numbers):012d}FQIAERgS"}],
            },
        )

    @staticmethod
    def error(
        code: int,
        message: str,
        status: int = 400,
        *,
        details: str = "",
        subcode: int | None = None,
        **headers: str,
    ) -> Canned:
        error: dict[str, Any] = {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdEfGhIjKlMnOp",
        }
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        if subcode is not None:
            error["error_subcode"] = subcode
        return Canned(status, {"error": error}, headers=headers)

    @classmethod
    def throttled(cls, code: int = 131056, retry_after: int | None = None) -> Canned:
        """Meta's throttling: HTTP 400 with a throttling code (not 429)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return cls.error(
            code,
            "(Business Account, Consumer Account) pair rate limit hit",
            details="Too many messages sent from the sender phone number to the same "
            "recipient phone number in a short period of time.",
            **headers,
        )
