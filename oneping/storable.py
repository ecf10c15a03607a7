"""What JSON from a client may hold that no database column does.

PostgreSQL's text and jsonb refuse NUL characters, and no UTF-8 column takes a lone
surrogate (JSON may spell both: "\\u0000", "\\ud800"). DRF's CharField refuses them in
plain strings; values inside JSON fields (metadata, rules) are checked with this.
"""

from typing import Any


def unstorable_text(value: Any) -> str | None:
    """Why `value` (any JSON) cannot be stored, or None when it can."""
    if isinstance(value, str):
        if "\x00" in value:
            return "Null characters are not allowed."
        if any("\ud800" <= char <= "\udfff" for char in value):
            return "Surrogate characters are not allowed."
        return None
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    for item in items:
        problem = unstorable_text(item)
        if problem:
            return problem
    return None
