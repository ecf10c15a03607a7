"""The one guard every customer-supplied URL passes, when saved and again before use.

Customers choose where our workers send requests; without this they could aim them at our
own network (cloud metadata at 169.254.169.254, databases on 10.x, services on loopback).
Hosts are resolved and every address they resolve to must be public. Numeric spellings like
2130706433 or 0177.0.0.1 resolve to the address they mean, so they are caught the same way.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UrlNotAllowed(ValueError):
    """The URL is malformed, not http(s), or points at a non-public address."""


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(url: str, *, allow_private: bool | None = None, resolve: bool = True) -> str:
    """Return the URL if it may be used, else raise UrlNotAllowed saying why."""
    if allow_private is None:
        allow_private = settings.ONEPING_ALLOW_PRIVATE_URLS
    if not isinstance(url, str) or len(url) > 2048:
        raise UrlNotAllowed("Enter a URL of at most 2048 characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UrlNotAllowed("Enter a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise UrlNotAllowed("Only http:// and https:// URLs are allowed.")
    host = parts.hostname
    if not host:
        raise UrlNotAllowed("The URL has no host.")
    if parts.username or parts.password:
        raise UrlNotAllowed("URLs with a user name or password are not allowed.")
    if not (allow_private or not resolve):
        check_host(host, port or (443 if parts.scheme == "https" else 80), allow_private=False)
    return url.strip()


def check_host(host: str, port: int, *, allow_private: bool | None = None) -> str:
    """Refuse a host (for URLs, or an SMTP server) that resolves to a non-public address."""
    if allow_private is None:
        allow_private = settings.ONEPING_ALLOW_PRIVATE_URLS
    if allow_private:
        return host
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UrlNotAllowed(f"The host {host!r} does not resolve.") from None
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not _is_public(address):
            raise UrlNotAllowed(
                f"The host {host!r} resolves to {address}, a private, loopback, link-local "
                "or reserved address."
            )
    return host
