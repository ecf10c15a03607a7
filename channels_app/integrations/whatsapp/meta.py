"""WhatsApp through Meta's Cloud API: one POST per message
(https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages) and one
classifier for its answers."""

import re
from typing import Any

import requests
from django.conf import settings

from channels_app.integrations.base import (
    ConfigError,
    Outgoing,
    SendResult,
    coded_error,
    excerpt,
    json_object,
    network_error,
)
from channels_app.integrations.whatsapp.meta_errors import lookup
from oneping.http import post_json

# The provider name in the status callback's path (/hooks/providers/whatsapp/<token>/).
PROVIDER = "whatsapp"
FIELDS = ("phone_number_id", "access_token", "app_secret", "verify_token")
SECRETS = ("access_token", "app_secret", "verify_token")

PHONE_NUMBER_ID_RE = re.compile(r"^\d{5,30}$")
# Access tokens (user, system user) are opaque: printable ASCII without spaces ("EAAG…").
ACCESS_TOKEN_RE = re.compile(r"^[\x21-\x7e]{20,4096}$")
# An app secret is 32 lowercase hexadecimal digits (App settings → Basic → App secret).
APP_SECRET_RE = re.compile(r"^[0-9a-fA-F]{32}$")
VERIFY_TOKEN_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
# Template names are lowercase letters, digits and underscores, up to 512 characters; a
# language is a code like en or en_US
# (https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates,
# https://developers.facebook.com/docs/whatsapp/api/messages/message-templates#supported-languages).
TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
TEMPLATE_FIELDS = ("name", "language", "variables")

TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Cloud API template",
    "description": "For a channel with provider meta: an approved template and its body "
    "variables ({{1}}, {{2}}, … in order).",
    "properties": {
        "name": {"type": "string", "pattern": TEMPLATE_NAME_RE.pattern},
        "language": {"type": "string", "pattern": LANGUAGE_RE.pattern, "example": "en_US"},
        "variables": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
    "required": ["name", "language"],
    "additionalProperties": False,
}


def clean_config(config: dict[str, Any]) -> dict[str, Any]:
    def text(field: str, pattern: re.Pattern, what: str) -> str:
        value = config.get(field)
        if not isinstance(value, str) or not pattern.match(value.strip()):
            raise ConfigError(field, f"Enter {what}.")
        return value.strip()

    return {
        "phone_number_id": text(
            "phone_number_id",
            PHONE_NUMBER_ID_RE,
            "the Phone number ID from the app's WhatsApp → API Setup page (digits)",
        ),
        "access_token": text(
            "access_token",
            ACCESS_TOKEN_RE,
            "an access token with the whatsapp_business_messaging permission "
            "(EAA…: 20 or more characters, no spaces)",
        ),
        "app_secret": text(
            "app_secret",
            APP_SECRET_RE,
            "the App secret from App settings → Basic: 32 hexadecimal digits",
        ),
        "verify_token": text(
            "verify_token",
            VERIFY_TOKEN_RE,
            "a verify token of your choice (1 to 255 characters, no spaces), entered again "
            "in the app's webhook settings",
        ),
    }


def clean_template(template: dict[str, Any]) -> dict[str, Any]:
    """`{"name", "language", "variables"}`; ConfigError names the field ("template.name")."""
    for key in template:
        if key not in TEMPLATE_FIELDS:
            raise ConfigError(
                f"template.{key}",
                "This channel sends through Meta's Cloud API: give the template as "
                '{"name", "language", "variables": [...]} (content_sid is for Twilio).',
            )
    name, language = template.get("name"), template.get("language")
    if not isinstance(name, str) or not TEMPLATE_NAME_RE.match(name):
        raise ConfigError(
            "template.name",
            "Enter the approved template's name (lowercase letters, digits and underscores).",
        )
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise ConfigError(
            "template.language", "Enter the template's language code, like en or en_US."
        )
    variables = template.get("variables", [])
    if not isinstance(variables, list) or not all(
        isinstance(value, str) and value for value in variables
    ):
        raise ConfigError(
            "template.variables",
            "Give the body's variables as a list of non-empty strings, {{1}} first.",
        )
    return {"name": name, "language": language, "variables": variables}


def sender_ident(config: dict[str, Any]) -> str:
    """What the business number's pacing buckets count (kept only hashed): the number with
    the token that sends from it, so another account naming the same phone number ID with
    another token does not use up its tokens."""
    return f"{config.get('phone_number_id', '')}\0{config.get('access_token', '')}"


def message_body(outgoing: Outgoing) -> dict[str, Any]:
    """A session (free-form) text, or the template the options name."""
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": outgoing.target,
    }
    template = outgoing.options.get("template")
    if not template:
        return {**body, "type": "text", "text": {"body": outgoing.text}}
    # https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
    sent: dict[str, Any] = {"name": template["name"], "language": {"code": template["language"]}}
    if template["variables"]:
        parameters = [{"type": "text", "text": value} for value in template["variables"]]
        sent["components"] = [{"type": "body", "parameters": parameters}]
    return {**body, "type": "template", "template": sent}


def send(config: dict[str, Any], outgoing: Outgoing) -> SendResult:
    base = settings.ONEPING_WHATSAPP_API_BASE.rstrip("/")
    version = settings.ONEPING_WHATSAPP_API_VERSION
    url = f"{base}/{version}/{config['phone_number_id']}/messages"
    headers = {"Authorization": f"Bearer {config['access_token']}"}
    try:
        # Our own configured provider base, not a customer URL: no guard.
        response = post_json(url, message_body(outgoing), headers=headers, guard=False)
    except requests.RequestException as exc:
        raise network_error(exc, url) from None
    return classify(response)


def classify(response: requests.Response) -> SendResult:
    """Sort the Cloud API's answer to a message.

    200 carries `messages[0].id` (wamid.…), the id status webhooks name. An error is
    `{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}`
    (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes): its code
    decides when meta_errors.py knows it. That matters most for throttling (4, 80007,
    130429, 131048, 131056), which comes with HTTP 400 and is transient, and for 131047
    (more than 24 hours since the user wrote: only a template goes), which is permanent.
    Otherwise 401/403 (190, an expired token) and other 4xx are permanent; 429 and 5xx
    transient, honouring Retry-After when sent.
    """
    body = json_object(response)
    status = response.status_code
    if 200 <= status < 300:
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else {}
        message_id = first.get("id", "") if isinstance(first, dict) else ""
        return SendResult(provider_message_id=str(message_id), response_excerpt=excerpt(response))
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = error.get("code")
    said = str(error.get("message") or response.reason or "no description")
    data = error.get("error_data")
    more = ""
    if isinstance(data, dict) and isinstance(data.get("details"), str):
        more = f". {data['details']}"
    raise coded_error(response, "WhatsApp", code, said, lookup(code), more)
