"""Providers that report delivery statuses to /hooks/providers/<provider>/<callback token>/:
what each one's handler provides, and their registry (one line per provider).

A handler knows its provider's request: how it is signed (verify), what statuses it
carries (reports) and, for providers that check the URL before using it, the answer to that
check (challenge). Storing, rate limits and applying the reports are the same for every
provider (channels_app.callbacks, channels_app.reports).
"""

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, ClassVar

from django.http import HttpRequest
from django.utils.module_loading import import_string

from channels_app.integrations.base import ProviderCode

REGISTRY: dict[str, str] = {
    "twilio": "channels_app.integrations.twilio.callbacks.TwilioCallbacks",
    "whatsapp": "channels_app.integrations.whatsapp.callbacks.MetaCallbacks",
    # Email providers' tracking webhooks, through anymail's views (email/tracking.py).
    "postmark": "channels_app.integrations.postmark.callbacks.PostmarkTracking",
    "mailgun": "channels_app.integrations.mailgun.callbacks.MailgunTracking",
    "resend": "channels_app.integrations.resend.callbacks.ResendTracking",
    # Test mode's provider (its reports are stored by a task, never received over HTTP).
    "simulator": "channels_app.integrations.simulator.callbacks.SimulatorCallbacks",
}

# What a report may say (ProviderReport.Reported's values; channels_app.reports ranks them).
SENT, DELIVERED, READ, OPENED, CLICKED = "sent", "delivered", "read", "opened", "clicked"
FAILED, BOUNCED, COMPLAINED = "failed", "bounced", "complained"
DEFERRED = "deferred"  # a delay, not a fate: a timeline entry only


class VerificationFailed(Exception):
    """The request is not signed by the channel's provider account."""


@dataclass(frozen=True)
class CallbackRequest:
    """What a handler may read of the request."""

    method: str
    # The URL the provider called, on ONEPING_PUBLIC_URL when set (oneping.public_url).
    url: str
    body: bytes
    headers: dict[str, str]  # lower-case names
    query: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)  # a form-encoded POST's fields
    # The callback token in the URL (it names the channel; Postmark's basic-auth
    # credentials are derived from it: postmark/callbacks.py).
    token: str = ""
    # The Django request it came from, its body readable again: anymail's tracking views
    # (email/tracking.py) read the request itself (headers, body, POST, basic auth).
    http: HttpRequest | None = None


@dataclass(frozen=True)
class ParsedReport:
    """One status report about one message the provider sent for us."""

    provider_message_id: str
    status: str  # one of the constants above
    provider_status: str
    dedup_key: str
    payload: dict[str, Any]
    error_code: str = ""
    error_text: str = ""
    bounce_type: str = ""  # BOUNCED's kind: "hard" or "soft" (ProviderReport.bounce_type)
    provider_timestamp: datetime | None = None


@dataclass(frozen=True)
class Challenge:
    """The answer to a GET that checks the URL before the provider uses it."""

    status: int
    body: str


class CallbackProvider:
    """Base of each provider's status-callback handler (integrations/<provider>/callbacks.py)."""

    name: ClassVar[str]
    # Its name for people: "Twilio", "Meta (WhatsApp Cloud API)".
    title: ClassVar[str]
    # Whether the provider is told the URL with every send (Twilio's StatusCallback) rather
    # than once, by pasting it into the provider's console (Meta's app dashboard).
    told_with_each_send: ClassVar[bool] = True
    # What the channel page says about the callback URL (plain text with `code` and links).
    setup_help: ClassVar[str] = ""

    def verify(self, request: CallbackRequest, config: dict[str, Any]) -> None:
        """Raise VerificationFailed unless the channel's provider account signed it."""
        raise NotImplementedError

    def reports(self, request: CallbackRequest, config: dict[str, Any]) -> list[ParsedReport]:
        """The delivery statuses a verified request carries (none for other news)."""
        raise NotImplementedError

    def acknowledgement(self, stored: int, duplicates: int) -> str | dict[str, Any]:
        """The 200's body once a verified POST's reports are stored (a dict goes as JSON)."""
        return {"received": True, "stored": stored, "duplicates": duplicates}

    def lookup(self, code: str) -> ProviderCode | None:
        """What one of the provider's error codes means (its table in this folder)."""
        return None

    def describe_error(self, code: str, text: str) -> str:
        """A failure as the delivery log shows it: the code and its cause from our table,
        else the provider's own text."""
        known = self.lookup(code) if code else None
        cause = known.cause if known else text
        if code:
            return f"{self.title} error {code}: {cause}" if cause else f"{self.title} error {code}"
        return cause or f"{self.title} reported a failure without an error code"

    def challenge(self, request: CallbackRequest, config: dict[str, Any]) -> Challenge | None:
        """The answer to a GET; None when the provider never sends one (405)."""
        return None

    def url_credentials(self, token: str) -> str:
        """The "user:password" to embed in the URL the provider calls, for a provider that
        authenticates with HTTP basic auth instead of signing (Postmark); "" otherwise."""
        return ""


def get_callback_provider(name: str) -> CallbackProvider | None:
    return _provider(name) if name in REGISTRY else None


@cache
def _provider(name: str) -> CallbackProvider:
    return import_string(REGISTRY[name])()
