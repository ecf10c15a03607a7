"""Hex HMAC-SHA256 of the body in a header of the customer's choice, for their own apps:
the first generic scheme, kept as it was. "hmac" (schemes/hmac.py) does the same and more
(`{"algorithm": "sha256", "encoding": "hex"}`, with or without a "sha256=" prefix)."""

from django import forms

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Preset,
    Scheme,
    curl_header,
    equal,
    hex_hmac_of_body,
    hmac_sha256,
    mismatch,
    require,
)

DEFAULT_HEADER = "X-Webhook-Signature"  # the model field's default, too


class HmacSha256(Scheme):
    """A sha256= prefix is accepted, as many senders add one."""

    name = "hmac_sha256"
    label = "HMAC-SHA256 (hex) in a header"
    settings = ("signature_header",)
    presets = (
        Preset(
            key="generic",
            name='Generic JSON: {"event", "message"}',
            position=50,
            settings=(("event_type_from", {"path": "event"}),),
            rules=({"event": "*", "message": "{{ message }}"},),
        ),
    )

    def verify(self, body, headers, secret, *, signature_header: str = DEFAULT_HEADER, **_):
        given = require(headers, signature_header).removeprefix("sha256=")
        expected = hmac_sha256(secret.encode(), body).hex()
        if not equal(expected, given.lower()):
            raise mismatch()

    def form_fields(self) -> dict[str, forms.Field]:
        return {
            "signature_header": forms.CharField(
                required=False,
                strip=False,
                initial=DEFAULT_HEADER,
                widget=forms.TextInput(attrs={"maxlength": 100}),
                help_text="Only for HMAC-SHA256: the header holding the hex signature.",
            )
        }

    def curl_signing(self, event_type, options) -> CurlSigning:
        header = options.get("signature_header", DEFAULT_HEADER)
        return CurlSigning(
            lines=(hex_hmac_of_body(),),
            headers=(curl_header(header, "$SIG", literal=False),),
        )
