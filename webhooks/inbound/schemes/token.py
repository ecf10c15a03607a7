"""The secret itself in a header: for senders that cannot sign, only add a header.

Alertmanager (`http_config.authorization`, sent as `Authorization: Bearer <credentials>`:
https://prometheus.io/docs/alerting/latest/configuration/#http_config), Grafana's
"Authorization header", Google Apps Script's UrlFetchApp and many monitoring tools work
this way. The header (the endpoint's `signature_header`) must equal `token_prefix` +
secret, compared in constant time. The token is a credential: it is never stored with the
event (credential_headers).
"""

import json
import re

from django import forms

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    SettingsError,
    VerificationFailed,
    curl_header,
    equal,
    require,
)
from webhooks.inbound.schemes.hmac_sha256 import DEFAULT_HEADER

# A prefix is a word such as "Bearer" or "Token", maybe with a trailing space.
PREFIX = re.compile(r"^[A-Za-z0-9._-]{0,40} ?$")
BEARER = (("signature_header", "Authorization"), ("token_prefix", "Bearer "))
# "firing" or "resolved", the group's status; the rules stay "*" (their text says which).
# https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
BY_STATUS = ("event_type_from", {"path": "status"})


class Token(Scheme):
    name = "token"
    label = "Token in a header (e.g. Authorization: Bearer …)"
    settings = ("signature_header", "token_prefix")
    presets = (
        Preset(
            key="alertmanager",
            name="Prometheus Alertmanager alerts (Bearer token)",
            position=40,
            settings=(*BEARER, BY_STATUS),
            rules=(
                {
                    "event": "*",
                    "subject": "[{{ status | upper }}] {{ commonLabels.alertname }}",
                    "message": "[{{ status | upper }}] {{ commonLabels.alertname }}: "
                    "{{ commonAnnotations.summary or commonAnnotations.description or '' }} "
                    "({{ alerts | length }} alert(s))",
                },
            ),
        ),
        Preset(
            key="google-forms",
            name="Google Forms responses (Apps Script, Bearer token)",
            position=62,
            # The form's title: one endpoint can serve several forms, a rule each.
            settings=(*BEARER, ("event_type_from", {"path": "form"})),
            # The body is what the README's Apps Script sends: the form's title and the
            # answers by question title (Forms has no webhooks of its own).
            rules=(
                {
                    "event": "*",
                    "subject": "New response to {{ form }}",
                    "message": "New response to {{ form }}: "
                    "{% for question, answer in answers.items() %}{{ question }}: {{ answer }}"
                    "{% if not loop.last %}; {% endif %}{% endfor %}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, *, signature_header=DEFAULT_HEADER, **options):
        given = require(headers, signature_header)
        prefix = (options.get("token_prefix") or "").strip()
        if prefix:
            # Authentication schemes are case-insensitive: RFC 9110 §11.1.
            if not given.lower().startswith(prefix.lower()):
                raise VerificationFailed(f"{signature_header} must start with {prefix!r}.")
            given = given[len(prefix) :].strip()
        if not equal(secret, given):
            raise VerificationFailed(
                f"{signature_header} does not hold the endpoint's token.", check="signature"
            )

    def clean_settings(self, values):
        prefix = values.get("token_prefix") or ""
        if not PREFIX.match(prefix):
            raise SettingsError("token_prefix", "A word such as 'Bearer ' (40 characters at most).")
        return {**values, "token_prefix": prefix}

    def credential_headers(self, options):
        return frozenset({(options.get("signature_header") or DEFAULT_HEADER).lower()})

    def form_fields(self) -> dict[str, forms.Field]:
        return {
            "token_prefix": forms.CharField(
                required=False,
                strip=False,
                widget=forms.TextInput(attrs={"maxlength": 41}),
                help_text="Only for a token: what comes before it in the header, e.g. "
                "“Bearer ” with Authorization.",
            )
        }

    def sample_body(self, event_type: str) -> str:
        return json.dumps({"event": event_type, "message": "Hello from curl"})

    def curl_signing(self, event_type, options) -> CurlSigning:
        header = options.get("signature_header") or DEFAULT_HEADER
        prefix = (options.get("token_prefix") or "").strip()
        value = f"{prefix} $SECRET" if prefix else "$SECRET"
        return CurlSigning(headers=(curl_header(header, value, literal=False),))
