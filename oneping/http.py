"""Outbound HTTP: explicit timeouts, no redirects, our User-Agent, and the URL guard.

A guarded request connects to the very address the guard checked (PinnedAdapter), and a
failure is described from its kind and the host only (describe_failure): requests' own
error texts name the URL's path, which is where Slack, Discord and many callback URLs keep
their secret.
"""

import email.utils
import errno
import os
import socket
import ssl
import threading
from datetime import UTC, datetime
from http.client import RemoteDisconnected
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.util.ssl_match_hostname import CertificateError

from oneping.urlguard import check_url, public_addresses

USER_AGENT = "oneping/0.1"
# Set on a prepared request: the checked address its connection must go to.
PINNED_ADDRESS = "oneping_pinned_address"

_local = threading.local()


class PinnedAdapter(HTTPAdapter):
    """Connects a request carrying PINNED_ADDRESS to that address instead of resolving the
    name again (a name can answer the guard with a public address and the connection, a
    moment later, with 127.0.0.1). The Host header, TLS SNI and certificate verification
    stay on the name: urllib3 sends SNI for `server_hostname` and matches the certificate
    against `assert_hostname`
    (https://urllib3.readthedocs.io/en/stable/reference/urllib3.connection.html).
    Connection pools are keyed by address and name, so keep-alive still works per name.

    With a proxy from the environment (HTTPS_PROXY), https goes through a CONNECT to the
    checked address; plain http is resolved by the proxy, which the operator chose.
    """

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        address = getattr(request, PINNED_ADDRESS, None)
        if address:
            name = host_params["host"]
            host_params["host"] = address
            if host_params["scheme"] == "https":
                pool_kwargs["server_hostname"] = name
                pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any):
        if getattr(request, PINNED_ADDRESS, None) and "Host" not in request.headers:
            # http.client would otherwise name the address it connected to.
            request.headers["Host"] = urlsplit(request.url).netloc
        return super().send(request, *args, **kwargs)


def _session() -> requests.Session:
    """One session per thread, so connections to a provider are kept alive and reused
    (a TLS handshake per delivery otherwise). It keeps no cookies: one customer's
    provider must never see what another's answer set."""
    pid, session = getattr(_local, "session", (None, None))
    if session is None or pid != os.getpid():  # a forked child must not share sockets
        session = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        adapter = PinnedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = (os.getpid(), session)
    return session


def default_timeout() -> tuple[float, float]:
    """(connect, read) seconds: a slow provider costs a worker at most this per attempt."""
    return (settings.ONEPING_HTTP_CONNECT_TIMEOUT, settings.ONEPING_HTTP_READ_TIMEOUT)


def checked_addresses(url: str) -> list[str | None]:
    """Check the URL (UrlNotAllowed if it may not be used) and return the addresses to
    connect to, in resolver order; [None] when private addresses are allowed (by name)."""
    check_url(url, resolve=False)
    parts = urlsplit(url.strip())
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return public_addresses(parts.hostname, port) or [None]


def _never_connected(exc: requests.RequestException) -> bool:
    """The request failed before a connection existed, so nothing was sent: another
    checked address (say IPv4 after an unreachable IPv6) may be tried safely."""
    return isinstance(exc, requests.ConnectTimeout) or any(
        isinstance(cause, NewConnectionError) for cause in _causes(exc)
    )


def post(
    url: str,
    *,
    data: bytes | None = None,
    json: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float | tuple[float, float] | None = None,
    guard: bool = True,
) -> requests.Response:
    """POST once. Raises requests' exceptions and UrlNotAllowed; never follows redirects
    (a redirect could lead past the URL guard). Guarded, it connects to a checked address
    (the next one only if the previous could not be connected to)."""
    addresses = checked_addresses(url) if guard else [None]
    session = _session()
    for index, address in enumerate(addresses):
        request = session.prepare_request(
            requests.Request(
                "POST",
                url,
                data=data,
                json=json,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
            )
        )
        setattr(request, PINNED_ADDRESS, address)
        options = session.merge_environment_settings(request.url, {}, None, None, None)
        try:
            return session.send(
                request, timeout=timeout or default_timeout(), allow_redirects=False, **options
            )
        except requests.ConnectionError as exc:
            if index == len(addresses) - 1 or not _never_connected(exc):
                raise
    raise AssertionError("unreachable: the last address returns or raises")


def post_json(url: str, payload: Any, **kwargs: Any) -> requests.Response:
    return post(url, json=payload, **kwargs)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def host_of(url: str) -> str:
    """host[:port] of a URL: what an error may name (never its path, query or user info)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "the server", parts.port
    except ValueError:
        return "the server"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests → urllib3 → socket), breadth first."""
    found: list[BaseException] = []
    queue = [exc]
    while queue:
        current = queue.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        queue.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            queue.append(reason)
        queue.extend([current.__cause__, current.__context__])
    return found


def describe_failure(exc: BaseException, host: str) -> str:
    """What went wrong talking to `host`, in words built only from the failure's kind.

    Never str(exc): requests' texts carry the URL's path ("Max retries exceeded with url:
    /services/T0/B0/SECRET") and redacting them afterwards misses the parts that matter.
    """
    causes = _causes(exc)

    def has(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    if has(requests.ConnectTimeout):
        return f"timed out connecting to {host}"
    if has(requests.ReadTimeout, socket.timeout, TimeoutError):
        return f"timed out waiting for {host} to answer"
    if has(NameResolutionError, socket.gaierror):
        return f"could not resolve {host}"
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"the TLS certificate of {host} is not valid: {cause.verify_message}"
    if has(CertificateError):  # urllib3's own check of assert_hostname
        return f"the TLS certificate of {host} is not valid for that name"
    if has(ssl.SSLError, requests.exceptions.SSLError):
        return f"the TLS handshake with {host} failed"
    if has(ConnectionRefusedError):
        return f"could not connect to {host} (connection refused)"
    if has(ConnectionResetError):
        return f"{host} reset the connection"
    if has(requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
        return f"the answer from {host} was cut off or garbled"
    if has(RemoteDisconnected, ConnectionAbortedError, BrokenPipeError):
        return f"{host} closed the connection without answering"
    for cause in causes:
        if isinstance(cause, OSError) and cause.errno in errno.errorcode:
            return f"could not connect to {host} ({os.strerror(cause.errno).lower()})"
    if has(requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema):
        return f"the URL for {host} is not valid"
    return f"could not connect to {host}"
