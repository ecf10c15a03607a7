"""What every inbound verification scheme provides, and the pieces several of them share.

A scheme is one class in its own module of this package: how the sender signs (verify),
where it puts the event type and its delivery id (event_type, dedup_key), what the
dashboard form asks for it, the "try it with curl" example that signs a request the same
way, and the presets (ready-made rules) for its senders. The registry is in __init__.py.

Every scheme checks the raw bytes with a constant-time compare, and raises
VerificationFailed with a reason the customer can act on ("header missing", "timestamp
outside tolerance", …). Schemes never raise anything else, whatever the headers hold.
"""

import base64
import hashlib
import hmac
import json
import re
import shlex
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.conf import settings

# Standard Webhooks', Stripe's and Slack's window; ONEPING_INBOUND_TIMESTAMP_TOLERANCE_SECONDS.
TOLERANCE_SECONDS = 300


class VerificationFailed(Exception):
    """Why a request is refused. `check` names the check that failed ("header",
    "timestamp", "signature", or "settings" for an endpoint set up wrongly), so a caller
    (a preview of a pasted, hence stale, delivery) can tell a stale request from a forged one."""

    def __init__(self, message: str, check: str = "signature"):
        super().__init__(message)
        self.check = check


class SettingsError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Preset:
    """A ready-made rule set for one sender: data, each rule becomes an ordinary rule.

    `position` orders the list the API and the dashboard show (most-used senders first).
    `settings` are the endpoint fields the sender needs (the scheme's `settings`, such as
    the token scheme's header), applied unless the request gives its own.
    """

    key: str
    name: str
    rules: tuple[dict[str, Any], ...]
    position: int = 100
    settings: tuple[tuple[str, Any], ...] = ()


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

    def immediate_answer(self, headers: Mapping[str, str], payload: Any) -> dict | None:
        """A verified request the sender needs answered at once and that is no event (a
        URL check such as Slack's challenge): the 200 body, and nothing is stored."""
        return None

    def clean_settings(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Validate this scheme's `settings` when an endpoint is saved with it: the cleaned
        values, or SettingsError naming the field (the API shows it as that field's error)."""
        return dict(values)

    def credential_headers(self, options: Mapping[str, Any]) -> frozenset[str]:
        """Lower-case names of headers that carry the secret itself (not a signature of
        the body): never stored with the event."""
        return frozenset()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


# Set only by the preview (webhooks/inbound/preview.py) for its second verification: a
# delivery pasted from the sender's log is always older than the window. A context
# variable, not a setting: it holds for this thread's call only, never for receiving.
_TOLERANCE_LIFTED: ContextVar[bool] = ContextVar("inbound_tolerance_lifted", default=False)


@contextmanager
def tolerance_lifted() -> Iterator[None]:
    """Within it, check_age accepts any age: the other checks (header, signature) run
    as always, so a pass means only the timestamp was out of the window."""
    token = _TOLERANCE_LIFTED.set(True)
    try:
        yield
    finally:
        _TOLERANCE_LIFTED.reset(token)


def tolerance() -> int:
    return getattr(settings, "ONEPING_INBOUND_TIMESTAMP_TOLERANCE_SECONDS", TOLERANCE_SECONDS)


def equal(expected: str, given: str) -> bool:
    # compare_digest refuses non-ASCII str; header values are the sender's to choose.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def require(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        raise VerificationFailed(f"The {name} header is missing.", check="header")
    return value


def check_age(timestamp: str, now: float | None = None) -> int:
    # Unix seconds in ASCII digits only: int() would also take "١٢", "1_0" and numbers too
    # large to subtract from a float (OverflowError, a 500).
    digits = timestamp.strip()
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 15):
        raise VerificationFailed(
            f"Timestamp check failed: {timestamp[:40]!r} is not a number.", check="timestamp"
        )
    moment = int(digits)
    drift = (now or time.time()) - moment
    window = tolerance()
    if abs(drift) > window and not _TOLERANCE_LIFTED.get():
        raise VerificationFailed(
            f"Timestamp check failed: the timestamp is {abs(int(drift))} s "
            f"{'old' if drift > 0 else 'in the future'}; the tolerance is {window} s (is the "
            "sender's clock right, or is this a replay?).",
            check="timestamp",
        )
    return moment


def mismatch() -> VerificationFailed:
    return VerificationFailed(
        "Signature mismatch: the body was changed, or the secret is not the one the sender uses."
    )


def check_body_hmac(
    headers: Mapping[str, str],
    header: str,
    secret: str,
    body: bytes,
    *,
    prefix: str = "",
    encoding: str = "hex",
) -> None:
    """The check of senders that put `prefix` + the HMAC-SHA256 of the raw body, keyed
    with the secret, in one header (GitHub, Bitbucket, Shopify, WooCommerce, Typeform,
    Sentry): the header is required, then its prefix (as the sender spells it), then the
    digest. Hex digests are compared in either case, as the generic HMAC scheme does;
    base64 is case-sensitive."""
    given = require(headers, header)
    if not given.startswith(prefix):
        raise VerificationFailed(f"{header} must start with {prefix!r}.")
    digest = hmac_sha256(secret.encode(), body)
    signature = given[len(prefix) :]
    if encoding == "hex":
        expected, signature = digest.hex(), signature.lower()
    else:
        expected = base64.b64encode(digest).decode()
    if not equal(expected, signature):
        raise mismatch()


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
