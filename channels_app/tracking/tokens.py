"""The tokens in tracking URLs: signed with the project's SECRET_KEY (and its fallbacks, so
links in mail already sent survive a key rotation), one salt per kind, so an open token is
never a click token and no token of ours signs anything else.

A token names a delivery id, which is no secret (a recipient sees it in the link); the
signature makes it unforgeable: nobody can make a token for another delivery, another
link of the message, or another URL.
"""

import base64
import hashlib
from dataclasses import dataclass

from django.core import signing

OPEN_SALT = "oneping.tracking.open"
CLICK_SALT = "oneping.tracking.click"
# "." needs no escaping in a URL path, and Signer's rsplit takes the signature off the end.
SEP = "."
# Ours are about 100 characters; longer is not ours, and not worth an HMAC.
MAX_LENGTH = 200


@dataclass(frozen=True)
class Click:
    delivery_id: str
    index: int  # the link's position among the message's http(s) links (html.links_of)
    digest: str  # url_digest of the link, as it was when the email was sent


def open_token(delivery_id: str) -> str:
    return _signer(OPEN_SALT).sign(delivery_id)


def click_token(delivery_id: str, index: int, url: str) -> str:
    return _signer(CLICK_SALT).sign(SEP.join((delivery_id, str(index), url_digest(url))))


def read_open(token: str) -> str | None:
    """The delivery id an open token names; None for a token that is not ours."""
    value = _unsign(OPEN_SALT, token)
    if value is None or SEP in value:
        return None
    return value


def read_click(token: str) -> Click | None:
    """What a click token names; None for a token that is not ours."""
    value = _unsign(CLICK_SALT, token)
    parts = value.split(SEP) if value is not None else []
    if len(parts) != 3 or not parts[1].isdecimal():
        return None
    return Click(delivery_id=parts[0], index=int(parts[1]), digest=parts[2])


def url_digest(url: str) -> str:
    """72 bits of SHA-256: tells the message's links apart, keeps the token short."""
    return base64.urlsafe_b64encode(hashlib.sha256(url.encode()).digest()[:9]).decode()


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=salt, sep=SEP)


def _unsign(salt: str, token: str) -> str | None:
    if not token or len(token) > MAX_LENGTH:
        return None
    try:
        return _signer(salt).unsign(token)
    except signing.BadSignature:
        return None
