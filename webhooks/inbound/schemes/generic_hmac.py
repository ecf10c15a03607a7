"""A generic HMAC, described by the endpoint: for senders without a scheme of their own.

The endpoint's `signature_header` holds the signature and its `hmac` object says how it
was made: `algorithm` (sha1, sha256, sha512), `encoding` (hex, base64), `prefix` (such as
"sha256=", removed before comparing), `timestamp_header` (optional) and `signed_content`
("{body}", "{timestamp}.{body}" as Standard Webhooks and Stripe do, or
"{timestamp}:{body}" as Grafana does). With a timestamp header, requests older than the
tolerance are refused (replays).
"""

import base64
import hashlib
import hmac
import json
import re
from typing import Any

from django import forms

from webhooks.inbound.schemes.base import (
    HEADER_NAME,
    CurlSigning,
    Preset,
    Scheme,
    SettingsError,
    VerificationFailed,
    check_age,
    curl_header,
    equal,
    mismatch,
    require,
)
from webhooks.inbound.schemes.hmac_sha256 import DEFAULT_HEADER

ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
ENCODINGS = ("hex", "base64")
SIGNED_CONTENTS = ("{body}", "{timestamp}.{body}", "{timestamp}:{body}")
DEFAULTS: dict[str, str] = {
    "algorithm": "sha256",
    "encoding": "hex",
    "prefix": "",
    "timestamp_header": "",
    "signed_content": "{body}",
}
# Letters, digits and the punctuation prefixes use ("sha256=", "v1,", "Signature "): the
# curl example puts it in a shell string.
PREFIX = re.compile(r"^[A-Za-z0-9 _.,:;=/+-]{0,50}$")


def settings_of(described: Any) -> dict[str, str]:
    """The endpoint's `hmac` object with the defaults filled in."""
    return {**DEFAULTS, **(described if isinstance(described, dict) else {})}


def sign(secret: str, message: bytes, algorithm: str, encoding: str) -> str:
    """The signature as the sender puts it in the header (without the prefix)."""
    digest = hmac.new(secret.encode(), message, ALGORITHMS[algorithm]).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


class Hmac(Scheme):
    name = "hmac"
    label = "HMAC (algorithm, encoding and signed content of your choice)"
    settings = ("signature_header", "hmac")
    presets = (
        Preset(
            key="grafana",
            name="Grafana alerts (HMAC signature with timestamp)",
            position=41,
            # Grafana's webhook contact point signs with HMAC-SHA256, hex, in the header
            # X-Grafana-Alerting-Signature by default. Its timestamp header has no default
            # name: the customer types one in Grafana (the docs' provisioning example, and
            # this preset, use X-Grafana-Alerting-Signature-Timestamp), and then Grafana
            # signs "{timestamp}:{body}". Without one it signs the body alone: such an
            # endpoint needs hmac {"timestamp_header": "", "signed_content": "{body}"}.
            # https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/#hmac-signature
            settings=(
                ("signature_header", "X-Grafana-Alerting-Signature"),
                (
                    "hmac",
                    {
                        "algorithm": "sha256",
                        "encoding": "hex",
                        "timestamp_header": "X-Grafana-Alerting-Signature-Timestamp",
                        "signed_content": "{timestamp}:{body}",
                    },
                ),
                # "firing" or "resolved"; the rule stays "*" (its text says which).
                ("event_type_from", {"path": "status"}),
            ),
            rules=(
                {
                    "event": "*",
                    "subject": "[{{ status | upper }}] {{ commonLabels.alertname }}",
                    "message": "[{{ status | upper }}] {{ title }}: "
                    "{{ commonAnnotations.summary or message or '' }} "
                    "({{ alerts | length }} alert(s)) {{ externalURL }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, *, signature_header=DEFAULT_HEADER, **options):
        try:
            # Saved through the API it is clean already; the admin's JSON input is not.
            described = self.clean_settings({"hmac": options.get("hmac")})["hmac"]
        except SettingsError as exc:
            raise VerificationFailed(
                f"The endpoint's {exc.field} is invalid: {exc.message}", check="settings"
            ) from None
        given = require(headers, signature_header)
        prefix = described["prefix"]
        if prefix:
            if not given.lower().startswith(prefix.lower()):
                raise VerificationFailed(f"{signature_header} must start with {prefix!r}.")
            given = given[len(prefix) :]
        message = body
        if described["timestamp_header"]:
            timestamp = check_age(require(headers, described["timestamp_header"]))
            separator = described["signed_content"][len("{timestamp}")]
            message = f"{timestamp}{separator}".encode() + body
        expected = sign(secret, message, described["algorithm"], described["encoding"])
        # Hex digests come in either case; base64 is case-sensitive.
        if described["encoding"] == "hex":
            given = given.lower()
        if not equal(expected, given.strip()):
            raise mismatch()

    def clean_settings(self, values):
        described = values.get("hmac")
        if described in (None, ""):
            described = {}
        if not isinstance(described, dict):
            raise SettingsError("hmac", "Must be an object.")
        unknown = set(described) - set(DEFAULTS)
        if unknown:
            raise SettingsError(f"hmac.{sorted(unknown)[0]}", "Unknown field.")
        for field, value in described.items():
            if not isinstance(value, str):
                raise SettingsError(f"hmac.{field}", "Must be a string.")
        cleaned = settings_of(described)
        if cleaned["algorithm"] not in ALGORITHMS:
            raise SettingsError("hmac.algorithm", f"One of {', '.join(ALGORITHMS)}.")
        if cleaned["encoding"] not in ENCODINGS:
            raise SettingsError("hmac.encoding", f"One of {', '.join(ENCODINGS)}.")
        if cleaned["signed_content"] not in SIGNED_CONTENTS:
            raise SettingsError("hmac.signed_content", f"One of {', '.join(SIGNED_CONTENTS)}.")
        if not PREFIX.match(cleaned["prefix"]):
            raise SettingsError(
                "hmac.prefix", "At most 50 letters, digits, spaces and _ . , : ; = / + -."
            )
        header = cleaned["timestamp_header"]
        if header and (len(header) > 100 or not HEADER_NAME.match(header)):
            raise SettingsError("hmac.timestamp_header", "Not a header name.")
        if bool(header) != (cleaned["signed_content"] != "{body}"):
            raise SettingsError(
                "hmac.signed_content",
                "With a timestamp_header the signed content includes {timestamp}, and only then.",
            )
        return {**values, "hmac": cleaned}

    def form_fields(self) -> dict[str, forms.Field]:
        return {
            "hmac": forms.JSONField(
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text='Only for HMAC: how the signature is made, e.g. {"algorithm": '
                '"sha256", "encoding": "base64", "prefix": "sha256=", "timestamp_header": '
                '"X-Timestamp", "signed_content": "{timestamp}.{body}"}.',
            )
        }

    def sample_body(self, event_type: str) -> str:
        return json.dumps({"event": event_type, "message": "Hello from curl"})

    def curl_signing(self, event_type, options) -> CurlSigning:
        described = settings_of(options.get("hmac"))
        header = options.get("signature_header", DEFAULT_HEADER)
        lines = []
        content = '"$BODY"'
        if described["timestamp_header"]:
            lines.append("TS=$(date +%s)")
            content = '"$TS' + described["signed_content"][len("{timestamp}")] + '$BODY"'
        # One line of base64 even for SHA-512 (base64 alone wraps at 76 characters).
        base64_output = "-binary | openssl base64 -A"
        output = base64_output if described["encoding"] == "base64" else "| sed 's/^.* //'"
        lines.append(
            f"SIG=$(printf '%s' {content} | openssl dgst -{described['algorithm']} "
            f'-hmac "$SECRET" {output})'
        )
        headers = [curl_header(header, described["prefix"] + "$SIG", literal=False)]
        if described["timestamp_header"]:
            headers.append(curl_header(described["timestamp_header"], "$TS", literal=False))
        return CurlSigning(lines=tuple(lines), headers=tuple(headers))
