"""Standard Webhooks:
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md"""

import base64
import binascii

from webhooks.inbound.schemes.base import (
    CurlSigning,
    Scheme,
    VerificationFailed,
    check_age,
    curl_header,
    equal,
    mismatch,
    require,
)
from webhooks.signing import SECRET_PREFIX, standard_signature


class StandardWebhooks(Scheme):
    name = "standard_webhooks"
    label = "Standard Webhooks"

    def verify(self, body, headers, secret, **options) -> None:
        if secret.startswith("v1,"):
            raise VerificationFailed(
                "The secret looks like a signature (it starts with 'v1,'): paste the "
                "endpoint secret, which starts with 'whsec_'."
            )
        try:
            base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raise VerificationFailed(
                "The secret is not valid base64 after its 'whsec_' prefix."
            ) from None
        event_id = require(headers, "webhook-id")
        timestamp = check_age(require(headers, "webhook-timestamp"))
        signatures = require(headers, "webhook-signature").split(" ")
        expected = standard_signature(secret, event_id, timestamp, body)
        if not any(equal(expected, given) for given in signatures):
            raise mismatch()

    def dedup_key(self, headers, payload, body) -> str:
        return headers.get("webhook-id") or super().dedup_key(headers, payload, body)

    def curl_signing(self, event_type, options) -> CurlSigning:
        # The key is the base64 part of the secret, decoded; openssl takes it as hex.
        return CurlSigning(
            lines=(
                "MSG_ID=msg_curl_$(date +%s)",
                "TS=$(date +%s)",
                "KEY=$(printf '%s' \"${SECRET#whsec_}\" | base64 -d | od -An -v -tx1"
                " | tr -d ' \\n')",
                "SIG=$(printf '%s' \"$MSG_ID.$TS.$BODY\" | openssl dgst -sha256 -mac HMAC"
                ' -macopt "hexkey:$KEY" -binary | base64)',
            ),
            headers=(
                curl_header("webhook-id", "$MSG_ID", literal=False),
                curl_header("webhook-timestamp", "$TS", literal=False),
                curl_header("webhook-signature", "v1,$SIG", literal=False),
            ),
        )
