"""Strict readers for settings that come from the environment.

django-environ parses URL-style values well, but its booleans turn junk into False; a
typo in DEBUG or ONEPING_ALLOW_PRIVATE_URLS must stop the process instead.
"""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of "
        f"{', '.join(sorted(TRUE_WORDS))} or {', '.join(sorted(FALSE_WORDS))}."
    )


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_float(name: str, default: float, *, low: float, high: float) -> float:
    """A number between `low` and `high` (a rate, a fraction)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not low <= value <= high:  # also refuses nan
        raise ImproperlyConfigured(f"{name}={raw!r}: use a number from {low} to {high}.")
    return value


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """Django's SECURE_PROXY_SSL_HEADER as `HEADER,value` (e.g. HTTP_X_FORWARDED_PROTO,https:
    the request.META key and the value meaning https); a true word means exactly that pair,
    a false word or nothing means no proxy header is trusted.
    https://docs.djangoproject.com/en/stable/ref/settings/#secure-proxy-ssl-header
    """
    raw = os.environ.get(name, "").strip()
    if not raw or raw.lower() in FALSE_WORDS:
        return None
    if raw.lower() in TRUE_WORDS:
        return ("HTTP_X_FORWARDED_PROTO", "https")
    header, _, value = (part.strip() for part in raw.partition(","))
    if not header.startswith("HTTP_") or not value or "," in value:
        raise ImproperlyConfigured(
            f"{name}={raw!r}: use HEADER,value with the header as Django names it in "
            "request.META, e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    return (header.upper(), value)
