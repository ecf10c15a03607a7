"""Reading an inbound body: JSON, or a form (GitHub can send `payload=<json>`)."""

import json
from typing import Any
from urllib.parse import parse_qs

FORM = "application/x-www-form-urlencoded"


def parse(body: bytes, content_type: str) -> Any:
    """The payload as Python data, or None when the body is neither JSON nor a form."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if content_type.split(";", 1)[0].strip().lower() == FORM:
        fields = {key: values[-1] for key, values in parse_qs(text).items()}
        if "payload" in fields:
            return _json(fields["payload"])
        return fields
    return _json(text)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
