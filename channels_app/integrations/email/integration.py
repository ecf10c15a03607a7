"""Email: through the platform's own mail, the account's SMTP server, or an email service
provider's API (Postmark, Mailgun, Resend) with django-anymail. The provider is a field of
the config; each one's rules and transport are in email/providers.py's registry."""

from typing import Any, ClassVar

from django import forms
from django.conf import settings

from channels_app import pacing
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
from channels_app.integrations.rate_field import rate_form_field
from channels_app.integrations.simulator.magic import EMAIL
from channels_app.pacing import Bucket
from oneping.apiforms import GuidedChoiceField

__all__ = ["EmailIntegration", "is_email"]


def _for(providers: str, widget: type[forms.Widget], **attrs: Any) -> forms.Widget:
    """A field's widget marked with the providers it belongs to (space-separated)."""
    return widget(attrs={"data-provider": providers, **attrs})


class EmailIntegration(Integration):
    kind = "email"
    title = "Email"
    simulated_as = EMAIL
    setup_help = (
        "Choose how email leaves. *oneping's mail* needs nothing more. *SMTP server*: your "
        "server's host (e.g. `smtp.example.com`, port 587 with STARTTLS). *Postmark*: a "
        "server's API token (*Servers → your server → API Tokens*). *Mailgun*: an API key "
        "(*API Security*), your sending domain and its region, and the *HTTP webhook signing "
        "key* (*Webhooks*). *Resend*: an API key and, once you add the webhook, its signing "
        "secret (`whsec_…`). Providers send only from an address or domain verified there."
    )
    form_fields: ClassVar[dict[str, forms.Field]] = {
        "provider": GuidedChoiceField(
            choices=[(name, get_provider({"provider": name}).title) for name in REGISTRY],
            initial="platform",
            required=False,
            # The page shows the chosen provider's fields only (static/js/oneping.js).
            widget=forms.Select(attrs={"data-provider-select": ""}),
        ),
        "host": forms.CharField(
            label="SMTP host", required=False, widget=_for("smtp", forms.TextInput)
        ),
        # Text, not a number field: "abc" or 70000 gets the config's own error, as in the API.
        "port": forms.CharField(
            label="Port",
            required=False,
            widget=_for("smtp", forms.NumberInput, min=1, max=65535),
        ),
        "username": forms.CharField(required=False, widget=_for("smtp", forms.TextInput)),
        "password": forms.CharField(required=False, widget=_for("smtp", forms.PasswordInput)),
        "security": forms.ChoiceField(
            choices=[("starttls", "STARTTLS"), ("ssl", "SSL/TLS"), ("none", "None")],
            initial="starttls",
            required=False,
            widget=_for("smtp", forms.Select),
        ),
        "server_token": forms.CharField(
            label="Postmark server API token",
            required=False,
            widget=_for("postmark", forms.PasswordInput),
        ),
        "api_key": forms.CharField(
            label="API key", required=False, widget=_for("mailgun resend", forms.PasswordInput)
        ),
        "sender_domain": forms.CharField(
            label="Mailgun sending domain",
            required=False,
            help_text="Like mg.example.com.",
            widget=_for("mailgun", forms.TextInput),
        ),
        "region": forms.ChoiceField(
            label="Mailgun region",
            choices=[("us", "US (api.mailgun.net)"), ("eu", "EU (api.eu.mailgun.net)")],
            initial="us",
            required=False,
            widget=_for("mailgun", forms.Select),
        ),
        "webhook_signing_key": forms.CharField(
            label="Mailgun HTTP webhook signing key",
            required=False,
            widget=_for("mailgun", forms.PasswordInput),
        ),
        "webhook_secret": forms.CharField(
            label="Resend webhook signing secret",
            required=False,
            help_text="whsec_…, shown once the webhook exists in Resend.",
            widget=_for("resend", forms.PasswordInput),
        ),
        "from_email": forms.EmailField(
            label="From address",
            required=False,
            widget=_for("smtp postmark mailgun resend", forms.EmailInput),
        ),
        "track_opens": forms.BooleanField(
            label="Track opens",
            required=False,
            help_text="Postmark and Mailgun are asked with each email; Resend tracks per "
            "domain, in its own settings.",
        ),
        "track_clicks": forms.BooleanField(label="Track clicks", required=False),
        pacing.RATE_FIELD: rate_form_field(
            f"{settings.ONEPING_PACING_EMAIL_PER_SECOND:g} a second, the operator's setting.",
            **{"data-provider": "smtp postmark mailgun resend"},
        ),
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
    fate_steps = ("sent", "delivered", "opened", "clicked")
    suppressible = True  # hard bounces and spam complaints

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        provider = get_provider(config)
        allowed = {"provider", *TRACKING_FIELDS, *provider.fields}
        if provider.name != "platform":
            allowed.add(pacing.RATE_FIELD)
        unknown = sorted(set(config) - allowed)
        if unknown == [pacing.RATE_FIELD]:
            # Its one bucket is every account's (pacing): one account's rate would be all's.
            raise ConfigError(
                pacing.RATE_FIELD,
                "oneping's own mail is paced for every account together, at the operator's "
                "rate: max_per_second is for your own SMTP server or email provider.",
            )
        if unknown:
            raise ConfigError(
                unknown[0],
                f"Unknown field: the {provider.name} provider takes {', '.join(sorted(allowed))}.",
            )
        cleaned = {
            "provider": provider.name,
            **provider.clean(config),
            **clean_tracking(config, provider),
        }
        return pacing.clean_rate(config, cleaned)

    def pacing(self, config: dict[str, Any], target: str) -> list[Bucket]:
        """One bucket per sending account (the SMTP login, the provider's key), at
        ONEPING_PACING_EMAIL_PER_SECOND unless the channel says; the platform's mail is
        one bucket for all accounts, at the setting. SMTP servers and email providers
        publish per-account limits, if any, in their plans: the setting is the operator's
        guess, max_per_second the customer's knowledge. Each recipient address is its own
        destination: its messages leave in order."""
        rate = pacing.rate_of(config, settings.ONEPING_PACING_EMAIL_PER_SECOND)
        return [Bucket("channel", get_provider(config).sending_account(config), rate)]

    def summary(self, shown: dict[str, Any]) -> dict[str, Any]:
        # The platform's mail has nothing to list ("Uses oneping's own mail settings");
        # tracking flags are listed when on.
        if provider_name(shown) == "platform" and not any(shown.get(f) for f in TRACKING_FIELDS):
            return {}
        return {key: value for key, value in shown.items() if value is not False}

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
        return {
            **initial,
            "provider": provider_name(config) if config else "platform",
            "security": security if config.get("host") else "starttls",
        }

    def config_from_form(self, data: dict[str, Any]) -> dict[str, Any]:
        """The chosen provider's fields only (the form holds every provider's); without a
        provider (an older form), a host means SMTP, else the platform's mail."""
        name = data.get("provider") or ("smtp" if data.get("host") else "platform")
        # What every provider takes; the rate's input is hidden for the platform's mail,
        # which takes none.
        common: dict[str, Any] = {flag: bool(data.get(flag)) for flag in TRACKING_FIELDS}
        rate = data.get(pacing.RATE_FIELD)
        if name != "platform" and rate not in (None, ""):
            common[pacing.RATE_FIELD] = rate
        if name == "smtp":
            return {**self._smtp_from_form(data), **common}
        if name not in REGISTRY:
            return {"provider": name}  # refused by clean_config, naming the field
        fields = get_provider({"provider": name}).fields
        chosen = {field: data[field] for field in fields if data.get(field) not in (None, "")}
        return {"provider": name, **chosen, **common}

    def _smtp_from_form(self, data: dict[str, Any]) -> dict[str, Any]:
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
