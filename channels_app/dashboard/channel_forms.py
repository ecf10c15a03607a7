"""One form per channel kind, validated by the integration's own config rules."""

from typing import Any

from django import forms

from channels_app.channel_config import clean_channel_config
from channels_app.integrations.base import ConfigError

KEEP = "Leave empty to keep the saved one."


class ChannelForm(forms.Form):
    kind = ""
    title = ""
    # Shown above the form: plain text with `code`, *emphasis* and [links](https://…)
    # (oneping/templatetags/help_markdown.py), never HTML.
    setup_help = ""
    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args, existing: dict[str, Any] | None = None, **kwargs):
        self.existing = existing or {}
        initial = {k: v for k, v in self.existing.items() if k not in self.secret_fields}
        kwargs.setdefault("initial", self.initial_from(initial))
        kwargs.setdefault("prefix", self.kind)
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            if self.existing.get(name):
                self.fields[name].required = False
                self.fields[name].help_text = f"Saved (…{self.existing[name][-4:]}). {KEEP}"

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return config

    def to_config(self, data: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in data.items() if value not in (None, "")}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        config = self.to_config(data)
        for name in self.secret_fields:  # empty secret field: keep the saved value
            if not config.get(name):
                config.pop(name, None)
        try:
            data["config"] = clean_channel_config(self.kind, config, self.existing or None)
        except ConfigError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


class TelegramForm(ChannelForm):
    kind, title = "telegram", "Telegram"
    setup_help = (
        "Talk to [@BotFather](https://t.me/BotFather), send `/newbot` and copy the token. "
        "Add the bot to your group or channel; its chat id is in `getUpdates` (groups and "
        "channels start with `-100`)."
    )
    secret_fields = ("bot_token",)
    bot_token = forms.CharField(label="Bot token", widget=forms.PasswordInput(render_value=False))
    default_chat_id = forms.CharField(
        label="Default chat id", required=False, help_text="Used when a send names no chat."
    )


class SlackForm(ChannelForm):
    kind, title = "slack", "Slack"
    setup_help = (
        "In Slack: *Apps → Incoming Webhooks → Add to Slack*, pick a channel and copy "
        "the URL (`https://hooks.slack.com/services/…`)."
    )
    secret_fields = ("webhook_url",)
    webhook_url = forms.CharField(label="Incoming webhook URL", widget=forms.PasswordInput)


class DiscordForm(ChannelForm):
    kind, title = "discord", "Discord"
    setup_help = (
        "In Discord: *Channel settings → Integrations → Webhooks → New webhook → Copy "
        "webhook URL* (`https://discord.com/api/webhooks/…`)."
    )
    secret_fields = ("webhook_url",)
    webhook_url = forms.CharField(label="Webhook URL", widget=forms.PasswordInput)


class EmailForm(ChannelForm):
    kind, title = "email", "Email"
    setup_help = (
        "Leave the host empty to send with oneping's own mail settings, or give your SMTP "
        "server (e.g. your provider's `smtp.example.com`, port 587 with STARTTLS)."
    )
    secret_fields = ("password",)
    host = forms.CharField(label="SMTP host", required=False)
    port = forms.IntegerField(label="Port", required=False, min_value=1, max_value=65535)
    username = forms.CharField(required=False)
    password = forms.CharField(required=False, widget=forms.PasswordInput)
    security = forms.ChoiceField(
        choices=[("starttls", "STARTTLS"), ("ssl", "SSL/TLS"), ("none", "None")],
        initial="starttls",
        required=False,
    )
    from_email = forms.EmailField(label="From address", required=False)

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        security = (
            "ssl" if config.get("use_ssl") else "starttls" if config.get("use_tls") else "none"
        )
        return {**config, "security": security if config else "starttls"}

    def to_config(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("host"):
            return {}  # the platform's own mail settings
        config = {
            "host": data["host"],
            "username": data.get("username") or "",
            "password": data.get("password") or "",
            "use_tls": data.get("security") == "starttls",
            "use_ssl": data.get("security") == "ssl",
            "from_email": data.get("from_email") or "",
        }
        if data.get("port"):
            config["port"] = data["port"]
        return config


FORMS: dict[str, type[ChannelForm]] = {
    form.kind: form for form in (EmailForm, TelegramForm, SlackForm, DiscordForm)
}


class TestSendForm(forms.Form):
    recipient = forms.CharField(
        required=False,
        max_length=255,
        help_text="An email address, a chat id, or a contact's identifier; optional for "
        "Slack, Discord and a Telegram channel with a default chat.",
    )
