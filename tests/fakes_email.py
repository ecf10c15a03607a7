"""Fake email providers' send APIs: real servers on loopback answering like Postmark, Mailgun
and Resend, with their documented success bodies and their documented errors on demand.

- Postmark: POST /email with X-Postmark-Server-Token
  (https://postmarkapp.com/developer/api/email-api#send-a-single-email): 200 with To,
  SubmittedAt, MessageID, ErrorCode 0; errors carry an ErrorCode
  (https://postmarkapp.com/developer/api/overview#error-codes): 401 with ErrorCode 10 for a
  bad token, 422 with 300 (invalid email request) or 406 (inactive recipient), 429, 500/503.
- Mailgun: POST /v3/<domain>/messages, HTTP basic auth api:<key>, form
  (https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages):
  200 {"id": "<…@domain>", "message": "Queued. Thank you."}; 401 "Forbidden" (text), 400
  {"message": …}, 429, 5xx.
- Resend: POST /emails with a Bearer key
  (https://resend.com/docs/api-reference/emails/send-email): 200 {"id": uuid}; errors as
  {"statusCode", "message", "name"} (https://resend.com/docs/api-reference/errors): 422
  validation_error, 401 missing_api_key, 403 invalid_api_key, 429 rate_limit_exceeded, 5xx.
"""

import itertools
import uuid
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs

from tests.fakes import Canned, FakeHTTPProvider, Received

FROM = "alerts@mg.acme.test"
TO = "jane@example.com"
POSTMARK_TOKEN = "c0ffee00-1111-2222-3333-444455556666"
MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
MAILGUN_DOMAIN = "mg.acme.test"
MAILGUN_SIGNING_KEY = "9f1c2b3a4d5e6f708192a3b4c5d6e7f8"
RESEND_KEY = "re_123456789_AbCdEfGhIjKlMnOpQrStUvWx"
RESEND_WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

POSTMARK_CONFIG = {"provider": "postmark", "server_token": POSTMARK_TOKEN, "from_email": FROM}
MAILGUN_CONFIG = {
    "provider": "mailgun",
    "api_key": MAILGUN_KEY,
    "sender_domain": MAILGUN_DOMAIN,
    "region": "us",
    "webhook_signing_key": MAILGUN_SIGNING_KEY,
    "from_email": FROM,
}
RESEND_CONFIG = {
    "provider": "resend",
    "api_key": RESEND_KEY,
    "webhook_secret": RESEND_WEBHOOK_SECRET,
    "from_email": FROM,
}
SECRETS = [POSTMARK_TOKEN, MAILGUN_KEY, MAILGUN_SIGNING_KEY, RESEND_KEY, RESEND_WEBHOOK_SECRET]

_numbers = itertools.count(1)


def form_of(received: Received) -> dict[str, list[str]]:
    """The fields of a form post (Mailgun's: urlencoded, or multipart/form-data with
    attachments), each with all its values."""
    content_type = received.headers["Content-Type"]
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qs(received.body.decode(), keep_blank_values=True)
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + received.body
    )
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields.setdefault(name, []).append(part.get_content())
    return fields


class FakePostmark(FakeHTTPProvider):
    """POST /email: 200 and the message's id."""

    def __init__(self):
        super().__init__(default=Canned(200))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.status != 200 or canned.body is not None:
            return canned
        return Canned(
            200,
            {
                "To": received.json()["To"],
                "SubmittedAt": datetime.now(UTC).isoformat(),
                "MessageID": str(uuid.uuid4()),
                "ErrorCode": 0,
                "Message": "OK",
            },
        )

    @staticmethod
    def error(code: int, message: str, status: int = 422, **headers: str) -> Canned:
        return Canned(status, {"ErrorCode": code, "Message": message}, headers=headers)

    @classmethod
    def bad_token(cls) -> Canned:
        return cls.error(10, "Request does not contain a valid Server token.", 401)

    @classmethod
    def inactive(cls, address: str = TO) -> Canned:
        return cls.error(
            406,
            "You tried to send to a recipient that has been marked as inactive.\n"
            f"Found inactive addresses: {address}.\n"
            "Inactive recipients are ones that have generated a hard bounce or a spam "
            "complaint. ",
        )

    @classmethod
    def invalid_to(cls, address: str = TO) -> Canned:
        return cls.error(300, f"Invalid 'To' address: '{address}'.")

    @classmethod
    def unverified_sender(cls) -> Canned:
        return cls.error(
            400,
            f"The 'From' address you supplied ({FROM}) is not a Sender Signature on your "
            "account. Please add and confirm this address in order to be able to use it in "
            "the 'From' field of your messages.",
        )


class FakeMailgun(FakeHTTPProvider):
    """POST /v3/<domain>/messages: 200, the message's id and "Queued. Thank you." """

    def __init__(self):
        super().__init__(default=Canned(200))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.status != 200 or canned.body is not None:
            return canned
        domain = received.path.split("/")[2]
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        return Canned(
            200, {"id": f"<{stamp}.{next(_numbers)}@{domain}>", "message": "Queued. Thank you."}
        )

    @staticmethod
    def forbidden() -> Canned:
        return Canned(401, "Forbidden")

    @staticmethod
    def error(status: int, message: str, **headers: str) -> Canned:
        return Canned(status, {"message": message}, headers=headers)


class FakeResend(FakeHTTPProvider):
    """POST /emails: 200 and the email's id."""

    def __init__(self):
        super().__init__(default=Canned(200))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.status != 200 or canned.body is not None:
            return canned
        return Canned(200, {"id": str(uuid.uuid4())})

    @staticmethod
    def error(status: int, name: str, message: str, **headers: str) -> Canned:
        body: dict[str, Any] = {"statusCode": status, "message": message, "name": name}
        return Canned(status, body, headers=headers)
