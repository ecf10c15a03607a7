"""Email: through the platform's own mail, the account's SMTP server, or an email service
provider's API (Postmark, Mailgun, Resend) with django-anymail. The provider is a field of
the config; each one's rules and transport are in email/providers.py's registry."""

from typing import Any, ClassVar

from django import forms

from channels_app.integrations.base import (
    ConfigError,
    Integration,
    Outgoing,
    SendResult,
)
from channels_app.integrations.email.providers import (
    REGISTRY,
    TRACKING_FIELDS,
    all_secret_fields,
    clean_tracking,
    get_provider,
    provider_name,
)
from channels_app.integrations.email.validation import is_email

__all__ = ["EmailIntegration", "is_email"]


class EmailIntegration(Integration):
    kind = "email"
    title = "Email"
    setup_help = (
        "Leave the host empty to send with oneping's own mail settings, or give your SMTP "
        "server (e.g. your provider's `smtp.example.com`, port 587 with STARTTLS)."
    )
    form_fields: ClassVar[dict[str, forms.Field]] = {
        "host": forms.CharField(label="SMTP host", required=False),
        # Text, not a number field: "abc" or 70000 gets the config's own error, as in the API.
        "port": forms.CharField(
            label="Port", required=False, widget=forms.NumberInput(attrs={"min": 1, "max": 65535})
        ),
        "username": forms.CharField(required=False),
        "password": forms.CharField(required=False, widget=forms.PasswordInput),
        "security": forms.ChoiceField(
            choices=[("starttls", "STARTTLS"), ("ssl", "SSL/TLS"), ("none", "None")],
            initial="starttls",
            required=False,
        ),
        "from_email": forms.EmailField(label="From address", required=False),
    }
    contact_field = forms.EmailField(required=False)
    unresolved_hint = (
        "send an email address as recipient, or add a contact whose identifier is the "
        "recipient with addresses.email."
    )
    test_recipient_hint = "An email address or a contact's identifier."
    secret_fields = all_secret_fields()
    # Where each secret goes: the SMTP password to this server, as this user, over this
    # kind of connection; an API key or token to its provider's API (an operator's setting).
    # Changing any of them without typing the secret again would send it somewhere new
    # (switching Mailgun to Resend would hand Resend the Mailgun key).
    secret_destinations: ClassVar[dict[str, tuple[str, ...]]] = {
        "password": ("provider", "host", "port", "username", "use_tls", "use_ssl"),
        "server_token": ("provider",),
        "api_key": ("provider", "sender_domain", "region"),
        "webhook_signing_key": ("provider",),
        "webhook_secret": ("provider",),
    }
    success_status = "sent"  # accepted by the SMTP server or the provider; the inbox is later
    suppressible = True  # hard bounces and spam complaints

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        provider = get_provider(config)
        allowed = {"provider", *TRACKING_FIELDS, *provider.fields}
        unknown = sorted(set(config) - allowed)
        if unknown:
            raise ConfigError(
                unknown[0],
                f"Unknown field: the {provider.name} provider takes {', '.join(sorted(allowed))}.",
            )
        return {"provider": provider.name, **provider.clean(config), **clean_tracking(config)}

    def secrets_in_use(self, config: dict[str, Any]) -> tuple[str, ...]:
        if provider_name(config) not in REGISTRY:
            return ()
        return get_provider(config).secrets

    def reports_fate_for(self, config: dict[str, Any]) -> bool:
        return provider_name(config) in REGISTRY and get_provider(config).reports_fate

    def status_callback_provider(self, config: dict[str, Any]) -> str | None:
        # A provider that reports fates does so to /hooks/providers/<its name>/<token>/.
        return provider_name(config) if self.reports_fate_for(config) else None

    def form_initial(self, config: dict[str, Any]) -> dict[str, Any]:
        security = (
            "ssl" if config.get("use_ssl") else "starttls" if config.get("use_tls") else "none"
        )
        initial = super().form_initial(config)
        return {**initial, "security": security if config.get("host") else "starttls"}

    def config_from_form(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("host"):
            return {"provider": "platform"}
        config = {
            "provider": "smtp",
            "host": data["host"],
            "username": data.get("username") or "",
            "password": data.get("password") or "",
            "use_tls": data.get("security") == "starttls",
            "use_ssl": data.get("security") == "ssl",
            "from_email": data.get("from_email") or "",
        }
        port = data.get("port") or ""
        if port:
            config["port"] = int(port) if port.isascii() and port.isdigit() else port
        return config

    def clean_contact_address(self, value: Any) -> str:
        if not isinstance(value, str) or not is_email(value.strip()):
            raise ConfigError("email", "Enter a valid email address.")
        return value.strip()

    def address_from_recipient(self, recipient: str) -> str | None:
        return recipient if is_email(recipient) else None

    def suppression_address(self, target: str) -> str:
        # Without case, as mailbox providers and the ESPs' own suppression lists treat them.
        return target.strip().lower()

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        return get_provider(config).send(config, outgoing)
