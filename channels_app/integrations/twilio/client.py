"""Twilio's Messages API, shared by the SMS kind and WhatsApp through Twilio: one POST per
message (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource)
and one classifier for its answers."""

import base64
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings

from channels_app.integrations.base import (
    SendResult,
    coded_error,
    excerpt,
    json_object,
    network_error,
    status_callback_url,
)
from channels_app.integrations.twilio.errors import lookup
from oneping.http import post

# The provider name in the status callback's path (/hooks/providers/twilio/<token>/).
PROVIDER = "twilio"
API_VERSION = "2010-04-01"


def messages_url(account_sid: str) -> str:
    base = settings.ONEPING_TWILIO_API_BASE.rstrip("/")
    return f"{base}/{API_VERSION}/Accounts/{account_sid}/Messages.json"


def create_message(config: dict[str, Any], form: dict[str, str], callback_token: str) -> SendResult:
    """POST one message. `form` holds To, From or MessagingServiceSid, and Body or
    ContentSid (+ ContentVariables); StatusCallback is added when ONEPING_PUBLIC_URL lets
    us name it, so Twilio reports what became of the message."""
    callback = status_callback_url(PROVIDER, callback_token)
    if callback:
        form = {**form, "StatusCallback": callback}
    # HTTP basic auth with the Account SID and Auth Token
    # (https://www.twilio.com/docs/usage/requests-to-twilio#authenticate-with-http).
    credentials = f"{config['account_sid']}:{config['auth_token']}".encode()
    headers = {
        "Authorization": f"Basic {base64.b64encode(credentials).decode()}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    url = messages_url(config["account_sid"])
    try:
        # Our own configured provider base, not a customer URL: no guard.
        response = post(url, data=urlencode(form).encode(), headers=headers, guard=False)
    except requests.RequestException as exc:
        raise network_error(exc, url) from None
    return classify(response)


def classify(response: requests.Response) -> SendResult:
    """Sort Twilio's answer to a new message.

    2xx (201 Created) carries the message resource; its `sid` (SM…/MM…) is the id status
    callbacks name. An error is `{"code", "message", "more_info", "status"}`
    (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions): its
    code decides when twilio/errors.py knows it (21211, an invalid To, is permanent;
    20429, too many requests, is not). Otherwise the HTTP status does: 400, 401
    (authentication), 403, 404 (no such account) will not change by waiting; 429 and 5xx
    are transient (https://www.twilio.com/docs/usage/twilios-response#response-formats-http-status-codes),
    honouring a Retry-After header when Twilio sends one.
    """
    body = json_object(response)
    status = response.status_code
    if 200 <= status < 300:
        # A 2xx created the message: even without a sid, retrying would send it twice.
        return SendResult(
            provider_message_id=str(body.get("sid") or ""), response_excerpt=excerpt(response)
        )
    code = body.get("code")
    said = str(body.get("message") or response.reason or "no description")
    more_info = body.get("more_info")
    more = ""
    if isinstance(more_info, str) and more_info.startswith("https://www.twilio.com/"):
        more = f" ({more_info})"
    raise coded_error(response, "Twilio", code, said, lookup(code), more)
