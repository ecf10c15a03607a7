"""One rule for every absolute URL the product hands out (status callbacks given to
providers, inbound webhook URLs, invitation links): ONEPING_PUBLIC_URL when it is set,
otherwise the request's own scheme and host.

A URL built from the request behind a proxy that rewrites Host would name the proxy's
inside address; ONEPING_PUBLIC_URL names the outside one. Verifying a provider's signature
over the URL it called (Twilio signs the full URL) must use the same base, never the
request's Host header.
"""

from django.conf import settings
from django.http import HttpRequest


def absolute_url(path: str, request: HttpRequest | None = None) -> str | None:
    """`path` (starting with /) as an absolute URL; None when neither ONEPING_PUBLIC_URL
    nor a request says where we are."""
    if settings.ONEPING_PUBLIC_URL:
        return settings.ONEPING_PUBLIC_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return None
