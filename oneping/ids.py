"""Public ids: an opaque prefix + a time-ordered random part (`msg_01jd…`).

The random part is a ULID (48-bit millisecond time, 80 random bits) in lowercase Crockford
base32, so ids sort by creation time — cursor pagination and "newest first" can order by the
primary key alone — while revealing nothing countable like a sequential integer.
"""

import secrets
import threading
import time
from datetime import datetime

from django.db import models

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RANDOM_BITS = 80
ULID_LENGTH = 26


_lock = threading.Lock()
_last = (0, 0)  # (millisecond, random part) of the previous id made by this process


def _next_value() -> int:
    """Monotonic within a process: an id made in the same millisecond as the previous one
    takes the previous random part plus one, so ids created in a loop keep their order."""
    global _last
    with _lock:
        millis = time.time_ns() // 1_000_000
        last_millis, last_random = _last
        if millis <= last_millis and last_random + 1 < 1 << _RANDOM_BITS:
            millis, random_part = last_millis, last_random + 1
        else:
            random_part = secrets.randbits(_RANDOM_BITS)
        _last = (millis, random_part)
    return millis << _RANDOM_BITS | random_part


def new_id(prefix: str) -> str:
    return _encode(prefix, _next_value())


def first_id_at(prefix: str, moment: datetime) -> str:
    """The smallest id `new_id(prefix)` could have made at `moment`: ids made then or later
    sort at or after it, so "since `moment`" is a range on an index built on the id."""
    return _encode(prefix, int(moment.timestamp() * 1000) << _RANDOM_BITS)


def _encode(prefix: str, value: int) -> str:
    chars = []
    for _ in range(ULID_LENGTH):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return f"{prefix}_{''.join(reversed(chars))}"


class PublicIdField(models.CharField):
    """Primary key holding a prefixed public id, generated on instantiation."""

    def __init__(self, *args, prefix: str, **kwargs):
        self.prefix = prefix
        kwargs.setdefault("max_length", len(prefix) + 1 + ULID_LENGTH)
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        return name, path, args, kwargs

    def has_default(self) -> bool:
        return True

    def get_default(self) -> str:
        return new_id(self.prefix)
