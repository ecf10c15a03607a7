"""SMTP to a customer's server, connected to the address the URL guard checked.

smtplib resolves the host name again when it connects, so a name that answered the guard
with a public address could answer the connection with 127.0.0.1 (DNS rebinding). These
classes connect to the checked address instead; smtplib keeps the name in `_host`, which
`starttls()` and SMTP_SSL pass as `server_hostname`, so SNI and certificate verification
stay on the name (https://docs.python.org/3/library/smtplib.html#smtplib.SMTP.starttls).
"""

import smtplib
import socket
from functools import partial
from typing import Any

from django.core.mail.backends.smtp import EmailBackend


class _Pinned:
    def __init__(self, *args: Any, pinned_addresses: list[str], **kwargs: Any):
        self.pinned_addresses = pinned_addresses  # before super(): it connects right away
        super().__init__(*args, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        """The first checked address that accepts the connection (as create_connection
        tries each address a name resolves to)."""
        for index, address in enumerate(self.pinned_addresses):
            try:
                return super()._get_socket(address, port, timeout)
            except OSError:
                if index == len(self.pinned_addresses) - 1:
                    raise
        raise OSError("no address to connect to")


class PinnedSMTP(_Pinned, smtplib.SMTP):
    """smtplib.SMTP that connects to a checked address (STARTTLS still checks the name)."""


class PinnedSMTPSSL(_Pinned, smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL that connects to a checked address (TLS still checks the name)."""


class PinnedEmailBackend(EmailBackend):
    """Django's SMTP backend, connecting to one of `addresses` ([] or None: by name)."""

    def __init__(self, *args: Any, addresses: list[str] | None = None, **kwargs: Any):
        self.addresses = addresses or []
        super().__init__(*args, **kwargs)

    @property
    def connection_class(self):
        if not self.addresses:
            return super().connection_class
        pinned = PinnedSMTPSSL if self.use_ssl else PinnedSMTP
        return partial(pinned, pinned_addresses=self.addresses)
