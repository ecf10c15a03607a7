"""Email over SMTP: the account's own server ("smtp") or oneping's mail settings
("platform", Django's EMAIL_* / EMAIL_URL; its rules are in channels_app.platform_mail)."""

import smtplib
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend

from channels_app.integrations.base import ConfigError, Outgoing, SendResult, TransportError
from channels_app.integrations.email.providers import EmailProvider
from channels_app.integrations.email.rendering import render
from channels_app.integrations.email.validation import clean_from_email
from channels_app.tracking.html import instrument
from oneping.http import describe_failure
from oneping.smtp import PinnedEmailBackend
from oneping.urlguard import UrlNotAllowed, check_host, public_addresses


class PlatformProvider(EmailProvider):
    name = "platform"
    title = "oneping's mail"
    fields = ()

    def clean(self, config: dict[str, Any]) -> dict[str, Any]:
        return {}

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        return send_smtp(get_connection(), settings.DEFAULT_FROM_EMAIL, outgoing, config)


class SmtpProvider(EmailProvider):
    name = "smtp"
    title = "SMTP server"
    fields = ("host", "port", "username", "password", "use_tls", "use_ssl", "from_email")
    secrets = ("password",)
    account_fields = ("host", "port", "username", "password")

    def clean(self, config: dict[str, Any]) -> dict[str, Any]:
        host = config.get("host")
        if not isinstance(host, str) or not host.strip():
            raise ConfigError(
                "host", 'Enter the SMTP server\'s host name (or set provider to "platform").'
            )
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
        cleaned["from_email"] = clean_from_email(config, required=False)
        try:
            check_host(cleaned["host"], port)
        except UrlNotAllowed as exc:
            raise ConfigError("host", str(exc), code="url_not_allowed") from None
        return cleaned

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
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
        from_email = config.get("from_email") or settings.DEFAULT_FROM_EMAIL
        return send_smtp(connection, from_email, outgoing, config, server=server)


def send_smtp(
    connection: BaseEmailBackend,
    from_email: str,
    outgoing: Outgoing,
    config: dict[str, Any],
    server: str = "the SMTP server",
) -> SendResult:
    """One multipart email (text and HTML from the Markdown body) over `connection`; the
    HTML with oneping's open pixel and click-through links when the config asks."""
    message_id = make_msgid(domain="oneping")
    rendered = render(outgoing.text)
    email = EmailMultiAlternatives(
        subject=outgoing.subject,
        body=rendered.text,
        from_email=from_email,
        to=[outgoing.target],
        connection=connection,
        headers={"Message-ID": message_id, "X-Oneping-Delivery": outgoing.delivery_id},
    )
    email.attach_alternative(instrument(rendered.html, outgoing.delivery_id, config), "text/html")
    try:
        email.send(fail_silently=False)
    except Exception as exc:
        raise classify(exc, server=server) from None
    return SendResult(provider_message_id=message_id, response_excerpt="250 accepted")


def classify(exc: Exception, server: str = "the SMTP server") -> TransportError:
    """SMTP reply codes: 4yz is a transient failure, 5yz permanent (RFC 5321 §4.2.1).

    A refused recipient with a 5yz code will not be accepted later; an unreachable or
    disconnecting server, a timeout, or a 4yz answer (greylisting, mailbox busy) may be.
    Bad credentials are permanent: waiting will not fix them.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        answers = "; ".join(
            f"{code} {reply.decode(errors='replace')}" for code, reply in exc.recipients.values()
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
