"""The config rules of a Twilio account, shared by the SMS kind and WhatsApp through Twilio.

SIDs are two letters naming the resource and 32 hexadecimal digits
(https://www.twilio.com/docs/glossary/what-is-a-sid): AC an account, MG a Messaging
Service, HX a Content template. The Auth Token is 32 hexadecimal digits
(https://www.twilio.com/docs/iam/api/authtoken).
"""

import re
from typing import Any

from django import forms

from channels_app.integrations.base import ConfigError
from channels_app.integrations.phone import InvalidNumber, e164

ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
AUTH_TOKEN_RE = re.compile(r"^[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_SID_RE = re.compile(r"^MG[0-9a-fA-F]{32}$")
CONTENT_SID_RE = re.compile(r"^HX[0-9a-fA-F]{32}$")

SETUP_HELP = (
    "In the [Twilio Console](https://console.twilio.com/), the *Account Info* panel of the "
    "account's home page shows the *Account SID* (`AC…`) and, behind *Show*, the *Auth "
    "Token*. The number to send from is under *Phone Numbers → Manage → Active numbers*"
)


def sid(config: dict[str, Any], field: str, pattern: re.Pattern, what: str) -> str:
    value = config.get(field)
    if not isinstance(value, str) or not pattern.match(value.strip()):
        raise ConfigError(field, f"Enter {what}.")
    return value.strip()


def clean_credentials(config: dict[str, Any]) -> dict[str, str]:
    """account_sid and auth_token, checked for their shapes."""
    return {
        "account_sid": sid(
            config,
            "account_sid",
            ACCOUNT_SID_RE,
            "the Account SID from the Twilio Console: AC and 32 hexadecimal digits",
        ),
        "auth_token": sid(
            config,
            "auth_token",
            AUTH_TOKEN_RE,
            "the Auth Token from the Twilio Console: 32 hexadecimal digits",
        ),
    }


def clean_sender(value: Any, field: str = "from") -> str:
    """The number to send from, in E.164."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(field, "Enter the Twilio number to send from, like +14155550100.")
    try:
        return e164(value)
    except InvalidNumber as exc:
        raise ConfigError(
            field, f"Enter the Twilio number to send from, like +14155550100: {exc.reason}."
        ) from None


def sender_ident(config: dict[str, Any], sender: str) -> str:
    """What a Twilio sender's pacing bucket counts (channels_app.pacing.Bucket.ident, kept
    only hashed): the sender (a number or a Messaging Service) with the credentials that
    send through it. A sender's number is public: another account naming it with other
    credentials must not use up its tokens, nor share its pauses."""
    return "\0".join((config.get("account_sid", ""), config.get("auth_token", ""), sender))


def credential_fields(required: bool, label: str = "") -> dict[str, forms.Field]:
    """The channel form's fields for the account (the token a secret, never shown again);
    `required` only marks them for people (the config's rules decide)."""
    return {
        "account_sid": forms.CharField(
            label=f"{label}Account SID", required=required, help_text="AC…"
        ),
        "auth_token": forms.CharField(
            label=f"{label}Auth Token",
            required=required,
            widget=forms.PasswordInput(render_value=False),
        ),
    }
