"""Reading an inbound body into the payload the rules see: JSON, a urlencoded form (GitHub
can send `payload=<json>`) or multipart/form-data (Jotform, Typeform's file uploads).

Only the payload is made here: signatures are always computed over the raw bytes, which
receiving stores unchanged. Memory and time are bounded by the body itself (at most
receiving.MAX_BODY_BYTES, 1 MiB) and by MAX_FIELDS: past it the remaining fields are
not read. File parts are described (name, size, type), never kept apart from the raw body.
"""

import json
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import unquote_plus

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FIELDS = 1000
# A form field holding the whole event as JSON: GitHub's form deliveries
# (https://docs.github.com/en/webhooks/using-webhooks/creating-webhooks#content-type).
JSON_FIELD = "payload"


def parse(body: bytes, content_type: str) -> Any:
    """The payload as Python data, or None when the body is none of the formats.

    A form gives {name: value}; a name sent several times gives the list of its values; a
    file part gives {"filename", "size", "content_type"} under its field name.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == MULTIPART:
        fields = _multipart(body, content_type)
    elif media_type == FORM:
        fields = _urlencoded(body)
    else:
        return _json(body)
    if fields is None:
        return None
    if isinstance(fields.get(JSON_FIELD), str):
        inner = _json(fields[JSON_FIELD])
        if inner is not None:
            return inner
    return fields


def _urlencoded(body: bytes) -> dict[str, Any] | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields: dict[str, Any] = {}
    # split's maxsplit keeps the work at MAX_FIELDS whatever the body holds; the last
    # piece then holds the unread rest.
    for pair in text.split("&", MAX_FIELDS)[:MAX_FIELDS]:
        if not pair:
            continue
        name, _, value = pair.partition("=")
        _add(fields, unquote_plus(name), unquote_plus(value))
    return fields


def _multipart(body: bytes, content_type: str) -> dict[str, Any] | None:
    # RFC 7578: a MIME multipart body, so the standard library's MIME parser reads it; the
    # Content-Type line (with its boundary) is what makes the bytes a message.
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    try:
        message = BytesParser(policy=HTTP).parsebytes(head + body)
    except (ValueError, TypeError, LookupError, RecursionError):
        return None
    if not message.is_multipart() or not message.get_boundary():
        return None
    fields: dict[str, Any] = {}
    for part in message.get_payload()[:MAX_FIELDS]:
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            value: Any = {
                "filename": filename,
                "size": len(content),
                "content_type": part.get_content_type(),
            }
        else:
            charset = part.get_content_charset() or "utf-8"
            try:
                value = content.decode(charset, errors="replace")
            except LookupError:  # an unknown charset name
                value = content.decode("utf-8", errors="replace")
        _add(fields, name, value)
    return fields


def _add(fields: dict[str, Any], name: str, value: Any) -> None:
    if name not in fields:
        fields[name] = value
    elif isinstance(fields[name], list):
        fields[name].append(value)
    else:
        fields[name] = [fields[name], value]


def _json(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None
