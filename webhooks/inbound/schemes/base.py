"""What every inbound verification scheme provides, and the pieces several of them share.

A scheme is one class in its own module of this package: how the sender signs (verify),
where it puts the event type and its delivery id (event_type, dedup_key), what the
dashboard form asks for it, the "try it with curl" example that signs a request the same
way, and the presets (ready-made rules) for its senders. The registry is in __init__.py.

Every scheme checks the raw bytes with a constant-time compare, and raises
VerificationFailed with a reason the customer can act on ("header missing", "timestamp
outside tolerance", …). Schemes never raise anything else, whatever the headers hold.
"""

import hashlib
import hmac
import json
import re
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms

TOLERANCE_SECONDS = 300  # Standard Webhooks' and Stripe's default window


class VerificationFailed(Exception):
    pass


@dataclass(frozen=True)
class Preset:
    """A ready-made rule set for one sender: data, each rule becomes an ordinary rule.

    `position` orders the list the API and the dashboard show (most-used senders first).
    """

    key: str
    name: str
    rules: tuple[dict[str, Any], ...]
    position: int = 100


@dataclass(frozen=True)
class CurlSigning:
    """How the curl example signs its body: shell lines (after URL, SECRET and BODY are
    set) and the curl -H arguments that carry the signature."""

    lines: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()


class Scheme:
    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # the choice shown in the dashboard and the admin
    needs_secret: ClassVar[bool] = True
    # Endpoint settings besides the secret that verify() reads (InboundEndpoint fields):
    # the dashboard form asks for them and receiving passes them as keyword arguments.
    settings: ClassVar[tuple[str, ...]] = ()
    presets: ClassVar[tuple[Preset, ...]] = ()
    # The event type of the curl example when the endpoint's rules only have "*".
    sample_event: ClassVar[str] = "test"

    def verify(self, body: bytes, headers: Mapping[str, str], secret: str, **options: Any) -> None:
        raise NotImplementedError

    def event_type(self, headers: Mapping[str, str], payload: Any) -> str:
        if isinstance(payload, dict):
            for field in ("event", "type"):
                if isinstance(payload.get(field), str):
                    return payload[field]
        return ""

    def dedup_key(self, headers: Mapping[str, str], payload: Any, body: bytes) -> str:
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def options(self, endpoint: Any) -> dict[str, Any]:
        """The keyword arguments of verify() for this endpoint (its `settings`)."""
        return {setting: getattr(endpoint, setting) for setting in self.settings}

    def form_fields(self) -> dict[str, forms.Field]:
        """The dashboard inputs for `settings`, new instances each call (forms change them).
        They only parse: InboundEndpointSerializer validates, as for the API."""
        return {}

    def sample_body(self, event_type: str) -> str:
        """A small body shaped like the sender's, with the fields the presets' templates
        use, so the curl example also turns into a notification, not a template error."""
        return json.dumps({"event": event_type, "message": "Hello from curl"})

    def curl_signing(self, event_type: str, options: Mapping[str, Any]) -> CurlSigning:
        """Sign $BODY with $SECRET with openssl the way the sender documents it, so running
        the example proves the secret and the scheme match."""
        return CurlSigning()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def equal(expected: str, given: str) -> bool:
    # compare_digest refuses non-ASCII str; header values are the sender's to choose.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def require(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise VerificationFailed(f"The {name} header is missing.")
    return value


def check_age(timestamp: str, now: float | None = None) -> int:
    # Unix seconds in ASCII digits only: int() would also take "١٢", "1_0" and numbers too
    # large to subtract from a float (OverflowError, a 500).
    digits = timestamp.strip()
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 15):
        raise VerificationFailed(f"The timestamp {timestamp[:40]!r} is not a number.")
    moment = int(digits)
    drift = (now or time.time()) - moment
    if abs(drift) > TOLERANCE_SECONDS:
        raise VerificationFailed(
            f"The timestamp is {abs(int(drift))} s {'old' if drift > 0 else 'in the future'}; "
            f"the tolerance is {TOLERANCE_SECONDS} s (is the sender's clock right, or is "
            "this a replay?)."
        )
    return moment


def mismatch() -> VerificationFailed:
    return VerificationFailed(
        "Signature mismatch: the body was changed, or the secret is not the one the sender uses."
    )


# Shell pieces of the curl examples.
HEX_HMAC = "openssl dgst -sha256 -hmac \"$SECRET\" | sed 's/^.* //'"
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")


def curl_header(name: str, value: str, *, literal: bool = True) -> str:
    """A curl -H argument; a non-literal value may use shell variables ($SIG)."""
    if literal:
        return f"-H {shlex.quote(f'{name}: {value}')}"
    if HEADER_NAME.match(name):
        return f'-H "{name}: {value}"'
    return f'-H {shlex.quote(name + ": ")}"{value}"'


def hex_hmac_of_body() -> str:
    """The shell line setting $SIG to the hex HMAC-SHA256 of $BODY keyed with $SECRET."""
    return f"SIG=$(printf '%s' \"$BODY\" | {HEX_HMAC})"
