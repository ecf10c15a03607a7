"""The one guard every customer-supplied URL passes, when saved and again before use.

Customers choose where our workers send requests; without this they could aim them at our
own network (cloud metadata at 169.254.169.254, databases on 10.x, services on loopback).
Hosts are resolved and every address they resolve to must be public. Numeric spellings like
2130706433 or 0177.0.0.1 resolve to the address they mean, so they are caught the same way.

Checking is not enough on its own: a name can answer a public address to the check and a
private one a moment later to the connection (DNS rebinding, TTL 0). `public_addresses`
returns the addresses it checked, and oneping.http and the SMTP transport connect to one of
those, never to the name again.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that carry an IPv4 address a router or relay forwards to: the IPv4 inside
# must be public too, else [64:ff9b::7f00:1] reaches 127.0.0.1 through a NAT64 gateway.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 §2.1, well-known prefix
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use, never public
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 §2.5.5.1, deprecated


class UrlNotAllowed(ValueError):
    """The URL is malformed, not http(s), or points at a non-public address."""

    code = "url_not_allowed"


class HttpsRequired(UrlNotAllowed):
    """The URL is http:// where only https:// is accepted (see check_receiver_url)."""

    code = "https_required"


def _embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    if address.ipv4_mapped:
        return [address.ipv4_mapped]
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour:  # 2002::/16, RFC 3056 §2
        return [address.sixtofour]
    if address.teredo:  # 2001::/32, RFC 4380 §4: the server and the (obfuscated) client
        return list(address.teredo)
    return []


def _is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64_LOCAL:
            return False
        embedded = _embedded_ipv4(address)
        if embedded:
            return all(_is_public(inner) for inner in embedded)
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


def check_receiver_url(url: str) -> str:
    """check_url for where we POST events (webhook endpoints, a message's callback_url):
    also https only, unless ONEPING_ALLOW_HTTP_URLS (on with DEBUG). Over plain http the
    signed events, and everything in them, cross the internet readable by anyone between."""
    url = check_url(url)
    if not settings.ONEPING_ALLOW_HTTP_URLS and urlsplit(url).scheme != "https":
        raise HttpsRequired("Use an https:// URL: events are only sent over TLS.")
    return url


def check_host(host: str, port: int, *, allow_private: bool | None = None) -> str:
    """Refuse a host (for URLs, or an SMTP server) that resolves to a non-public address."""
    public_addresses(host, port, allow_private=allow_private)
    return host


def public_addresses(host: str, port: int, *, allow_private: bool | None = None) -> list[str]:
    """The addresses `host` resolves to, all checked public; [] when private addresses are
    allowed (nothing to check, so the caller connects by name as usual)."""
    if allow_private is None:
        allow_private = settings.ONEPING_ALLOW_PRIVATE_URLS
    if allow_private:
        return []
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UrlNotAllowed(f"The host {host!r} does not resolve.") from None
    checked: list[str] = []
    for *_, sockaddr in infos:
        text = sockaddr[0].split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if not _is_public(address):
            raise UrlNotAllowed(
                f"The host {host!r} resolves to {address}, a private, loopback, link-local "
                "or reserved address."
            )
        if text not in checked:
            checked.append(text)
    if not checked:
        raise UrlNotAllowed(f"The host {host!r} does not resolve.")
    return checked
