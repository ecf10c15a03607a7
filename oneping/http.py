"""Outbound HTTP: explicit timeouts, no redirects, our User-Agent, and the URL guard."""

from typing import Any

import requests
from django.conf import settings

from oneping.urlguard import check_url

USER_AGENT = "oneping/0.1"


def default_timeout() -> tuple[float, float]:
    """(connect, read) seconds: a slow provider costs a worker at most this per attempt."""
    return (settings.ONEPING_HTTP_CONNECT_TIMEOUT, settings.ONEPING_HTTP_READ_TIMEOUT)


def post_json(
    url: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: tuple[float, float] | None = None,
    guard: bool = True,
) -> requests.Response:
    """POST JSON once. Raises requests' exceptions and UrlNotAllowed; never follows redirects."""
    if guard:
        check_url(url)
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    return requests.post(
        url,
        json=payload,
        headers=all_headers,
        timeout=timeout or default_timeout(),
        allow_redirects=False,
    )
