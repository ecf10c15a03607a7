"""Outbound HTTP: explicit timeouts, no redirects, our User-Agent, and the URL guard."""

import email.utils
import os
import threading
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from django.conf import settings

from oneping.urlguard import check_url

USER_AGENT = "oneping/0.1"

_local = threading.local()


def _session() -> requests.Session:
    """One session per thread, so connections to a provider are kept alive and reused
    (a TLS handshake per delivery otherwise). It keeps no cookies: one customer's
    provider must never see what another's answer set."""
    pid, session = getattr(_local, "session", (None, None))
    if session is None or pid != os.getpid():  # a forked child must not share sockets
        session = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        _local.session = (os.getpid(), session)
    return session


def default_timeout() -> tuple[float, float]:
    """(connect, read) seconds: a slow provider costs a worker at most this per attempt."""
    return (settings.ONEPING_HTTP_CONNECT_TIMEOUT, settings.ONEPING_HTTP_READ_TIMEOUT)


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
    (a redirect could lead past the URL guard)."""
    if guard:
        check_url(url)
    return _session().post(
        url,
        data=data,
        json=json,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=timeout or default_timeout(),
        allow_redirects=False,
    )


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
