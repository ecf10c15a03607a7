"""Telegram Bot API: https://core.telegram.org/bots/api#sendmessage"""

import re
from typing import Any, ClassVar

import requests
from django import forms
from django.conf import settings

from channels_app import pacing
from channels_app.integrations.base import (
    ConfigError,
    Integration,
    Outgoing,
    SendResult,
    TransportError,
    excerpt,
    json_object,
    network_error,
)
from channels_app.integrations.rate_field import rate_form_field
from channels_app.integrations.simulator.magic import CHAT
from channels_app.pacing import Bucket
from oneping.http import post_json

# "123456789:AAH…" — the bot id, a colon, then the secret (https://core.telegram.org/bots/api#authorizing-your-bot).
TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
# A numeric chat id (negative for groups and channels) or a public @channelusername.
CHAT_ID_RE = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")
FIELDS = ("bot_token", "default_chat_id", pacing.RATE_FIELD)

# https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this: about
# one message a second in one chat, at most 20 a minute in one group, and about 30 a
# second in all for a bot's bulk notifications. Channels are paced as groups (what
# @BotSupport tells bot authors; the FAQ names groups only).
PRIVATE_CHAT_RATE = 1.0
GROUP_CHAT_RATE = 20 / 60
BOT_RATE = 30.0


def is_group_chat(chat_id: str) -> bool:
    """Groups, supergroups and channels have negative ids (-100… for supergroups and
    channels, https://core.telegram.org/bots/api#chat); an @username names a public
    channel or supergroup. A user's private chat has the user's positive id."""
    return chat_id.startswith(("-", "@"))


class TelegramIntegration(Integration):
    kind = "telegram"
    title = "Telegram"
    simulated_as = CHAT
    setup_help = (
        "Talk to [@BotFather](https://t.me/BotFather), send `/newbot` and copy the token. "
        "Add the bot to your group or channel; its chat id is in `getUpdates` (groups and "
        "channels start with `-100`)."
    )
    form_fields: ClassVar[dict[str, forms.Field]] = {
        "bot_token": forms.CharField(
            label="Bot token", widget=forms.PasswordInput(render_value=False)
        ),
        "default_chat_id": forms.CharField(
            label="Default chat id", required=False, help_text="Used when a send names no chat."
        ),
        pacing.RATE_FIELD: rate_form_field(
            "Telegram's 1 a second per chat, 20 a minute per group or channel."
        ),
    }
    contact_field = forms.CharField(required=False, help_text="A numeric chat id or @channel.")
    unresolved_hint = (
        "send a numeric chat id or @channel as recipient, add a contact with "
        "addresses.telegram, or set default_chat_id on the telegram channel."
    )
    test_recipient_hint = (
        "A chat id or a contact's identifier; optional when the channel has a default chat."
    )
    message_limit = 4096  # https://core.telegram.org/bots/api#sendmessage ("1-4096 characters")
    secret_fields = ("bot_token",)
    # The token only ever goes to ONEPING_TELEGRAM_API_BASE, the operator's setting: no
    # config field moves it (default_chat_id picks a chat, which the API's recipient can too).
    secret_destinations: ClassVar[dict[str, tuple[str, ...]]] = {"bot_token": ()}

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        unknown = set(config) - set(FIELDS)
        if unknown:
            raise ConfigError(
                sorted(unknown)[0], f"Unknown field: the config takes {', '.join(FIELDS)}."
            )
        token = config.get("bot_token")
        if not isinstance(token, str) or not TOKEN_RE.match(token.strip()):
            raise ConfigError(
                "bot_token",
                "Enter the token @BotFather gave you, like 123456789:AAH… (digits, a colon, "
                "then at least 30 letters, digits, - or _).",
            )
        cleaned = {"bot_token": token.strip()}
        chat_id = config.get("default_chat_id")
        if chat_id not in (None, ""):
            cleaned["default_chat_id"] = self.clean_contact_address(str(chat_id))
        return pacing.clean_rate(config, cleaned)

    def pacing(self, config: dict[str, Any], target: str) -> list[Bucket]:
        """The chat (the config's max_per_second, else its kind's rate), then the bot. A
        chat's bucket is the bot's, too: another bot writing to the same chat has its own
        limit, and only who holds the token shares them (Bucket.key hashes it)."""
        token = config.get("bot_token", "")
        chat = target or config.get("default_chat_id", "")
        default = GROUP_CHAT_RATE if is_group_chat(chat) else PRIVATE_CHAT_RATE
        return [
            Bucket("chat", f"{token}\0{chat}", pacing.rate_of(config, default)),
            Bucket("bot", token, BOT_RATE),
        ]

    def clean_contact_address(self, value: Any) -> str:
        address = str(value).strip() if isinstance(value, str | int) else ""
        if not CHAT_ID_RE.match(address):
            raise ConfigError(
                "telegram", "Enter a numeric chat id (like -1001234567890) or an @channelname."
            )
        return address

    def address_from_recipient(self, recipient: str) -> str | None:
        return recipient if CHAT_ID_RE.match(recipient) else None

    def default_address(self, config: dict[str, Any]) -> str | None:
        return config.get("default_chat_id") or None

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        token = config["bot_token"]
        base = settings.ONEPING_TELEGRAM_API_BASE.rstrip("/")
        url = f"{base}/bot{token}/sendMessage"
        try:
            # Our own configured provider base, not a customer URL: no guard.
            response = post_json(
                url, {"chat_id": outgoing.target, "text": outgoing.text}, guard=False
            )
        except requests.RequestException as exc:
            raise network_error(exc, base) from None
        return self.classify(response)

    @staticmethod
    def classify(response: requests.Response) -> SendResult:
        """Sort the Bot API's answer: https://core.telegram.org/bots/api#making-requests

        Every answer is {"ok": bool, "result"|"description", "error_code", "parameters"}.
        429 carries parameters.retry_after (https://core.telegram.org/bots/api#responseparameters)
        and 5xx are Telegram's own trouble: transient. 400 ("chat not found"), 401 (bad token),
        403 ("bot was blocked by the user") and 404 (no such bot) will not change by waiting.
        """
        body = json_object(response)
        if response.status_code == 200 and body.get("ok"):
            result = body.get("result") or {}
            return SendResult(
                provider_message_id=str(result.get("message_id", "")),
                response_excerpt=excerpt(response),
            )
        description = body.get("description") or response.reason or "no description"
        reason = f"Telegram answered {response.status_code}: {description}"
        if response.status_code == 429:
            parameters = body.get("parameters") or {}
            retry_after = parameters.get("retry_after")
            raise TransportError(
                reason,
                permanent=False,
                retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
                response_excerpt=excerpt(response),
            )
        raise TransportError(
            reason, permanent=response.status_code < 500, response_excerpt=excerpt(response)
        )
