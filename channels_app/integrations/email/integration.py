"""Email through Django's SMTP backend: the platform's mail settings, or the account's own."""

import smtplib
from email.utils import make_msgid
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from channels_app.integrations.base import (
    ConfigError,
    Integration,
    Outgoing,
    SendResult,
    TransportError,
)
from oneping.http import describe_failure
from oneping.smtp import PinnedEmailBackend
from oneping.urlguard import UrlNotAllowed, check_host, public_addresses

FIELDS = {"host", "port", "username", "password", "use_tls", "use_ssl", "from_email"}


def is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


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
    secret_fields = ("password",)
    # The password goes to this server, as this user, over this kind of connection: changing
    # any of them without typing the password again would send it somewhere new.
    secret_destinations = {"password": ("host", "port", "username", "use_tls", "use_ssl")}
    success_status = "sent"  # accepted by the SMTP server; delivery to the inbox is unknown

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        unknown = set(config) - FIELDS
        if unknown:
            raise ConfigError(
                sorted(unknown)[0], f"Unknown field: the config takes {', '.join(sorted(FIELDS))}."
            )
        if not config:
            return {}  # the platform's own mail settings
        host = config.get("host")
        if not isinstance(host, str) or not host.strip():
            raise ConfigError("host", "Enter the SMTP server's host name (or send {} to use ours).")
        cleaned: dict[str, Any] = {"host": host.strip()}
        for flag in ("use_tls", "use_ssl"):
            value = config.get(flag, False)
            if not isinstance(value, bool):
                raise ConfigError(flag, "Must be true or false.")
            cleaned[flag] = value
        if cleaned["use_tls"] and cleaned["use_ssl"]:
            raise ConfigError("use_ssl", "Choose use_tls (STARTTLS) or use_ssl, not both.")
        port = config.get("port", 465 if cleaned["use_ssl"] else 587)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise ConfigError("port", "Enter a port number from 1 to 65535.")
        cleaned["port"] = port
        for text in ("username", "password"):
            value = config.get(text, "")
            if not isinstance(value, str):
                raise ConfigError(text, "Must be a string.")
            cleaned[text] = value
        from_email = config.get("from_email", "")
        if from_email and (not isinstance(from_email, str) or not is_email(from_email)):
            raise ConfigError("from_email", "Enter a valid email address.")
        cleaned["from_email"] = from_email
        try:
            check_host(cleaned["host"], port)
        except UrlNotAllowed as exc:
            raise ConfigError("host", str(exc), code="url_not_allowed") from None
        return cleaned

    def form_initial(self, config: dict[str, Any]) -> dict[str, Any]:
        security = (
            "ssl" if config.get("use_ssl") else "starttls" if config.get("use_tls") else "none"
        )
        initial = super().form_initial(config)
        return {**initial, "security": security if config else "starttls"}

    def config_from_form(self, data: dict[str, Any]) -> dict[str, Any]:
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

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        server = ""
        if config.get("host"):
            server = f"{config['host']}:{config['port']}"
            try:
                # Checked again (DNS may have changed since saving), and connected to the
                # very address checked: oneping.smtp.
                addresses = public_addresses(config["host"], config["port"])
            except UrlNotAllowed as exc:
                raise TransportError(str(exc), permanent=True) from None
            connection = PinnedEmailBackend(
                addresses=addresses,
                host=config["host"],
                port=config["port"],
                username=config["username"],
                password=config["password"],
                use_tls=config["use_tls"],
                use_ssl=config["use_ssl"],
                timeout=settings.ONEPING_SMTP_TIMEOUT,
            )
        else:
            connection = get_connection()
        message_id = make_msgid(domain="oneping")
        email = EmailMessage(
            subject=outgoing.subject,
            body=outgoing.text,
            from_email=config.get("from_email") or settings.DEFAULT_FROM_EMAIL,
            to=[outgoing.target],
            connection=connection,
            headers={"Message-ID": message_id, "X-Oneping-Delivery": outgoing.delivery_id},
        )
        try:
            email.send(fail_silently=False)
        except Exception as exc:
            raise self.classify(exc, server=server or "the SMTP server") from None
        return SendResult(provider_message_id=message_id, response_excerpt="250 accepted")

    @staticmethod
    def classify(exc: Exception, server: str = "the SMTP server") -> TransportError:
        """SMTP reply codes: 4yz is a transient failure, 5yz permanent (RFC 5321 §4.2.1).

        A refused recipient with a 5yz code will not be accepted later; an unreachable or
        disconnecting server, a timeout, or a 4yz answer (greylisting, mailbox busy) may be.
        Bad credentials are permanent: waiting will not fix them.
        """
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            answers = "; ".join(
                f"{code} {reply.decode(errors='replace')}"
                for code, reply in exc.recipients.values()
            )
            permanent = any(code >= 500 for code in codes)
            return TransportError(
                f"The SMTP server refused the recipient: {answers}", permanent=permanent
            )
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return TransportError(
                f"SMTP authentication failed: {exc.smtp_code} {exc.smtp_error!r}", permanent=True
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            reply = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            return TransportError(
                f"The SMTP server answered {exc.smtp_code} {reply}", permanent=exc.smtp_code >= 500
            )
        if isinstance(exc, UrlNotAllowed):
            return TransportError(str(exc), permanent=True)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return TransportError(
                f"Could not reach the SMTP server: {server} closed the connection.",
                permanent=False,
            )
        if isinstance(exc, smtplib.SMTPException):
            # smtplib's own fixed sentences ("STARTTLS extension not supported by server.").
            return TransportError(f"The SMTP exchange with {server} failed: {exc}", permanent=False)
        if isinstance(exc, OSError):
            # Described from its kind, not its text: see oneping.http.describe_failure.
            reason = describe_failure(exc, server)
            return TransportError(f"Could not reach the SMTP server: {reason}.", permanent=False)
        return TransportError(f"Sending the email failed ({type(exc).__name__}).", permanent=False)
