"""Reading an inbound body into the payload the rules see: JSON, a urlencoded form (GitHub
can send `payload=<json>`) or multipart/form-data (Jotform).

Only the payload is made here: signatures are always computed over the raw bytes, which
receiving stores unchanged. Memory and time are bounded by the body itself (at most
receiving.MAX_BODY_BYTES, 1 MiB) and by MAX_FIELDS: past it the remaining fields are
not read. File parts are described (name, size, type), never kept apart from the raw body.
"""

import json
from email.message import Message
from email.parser import HeaderParser
from typing import Any
from urllib.parse import unquote_plus

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FIELDS = 1000
MAX_PART_HEADERS = 16 * 1024  # bytes of one part's headers
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
    # RFC 7578 (RFC 2046 §5.1.1's syntax): parts between "--boundary" lines. Split by hand,
    # at most MAX_FIELDS times: the standard library's MIME parser reads every part first,
    # which takes a minute for 1 MiB of empty parts; only each part's header block (at most
    # MAX_PART_HEADERS) goes through it.
    boundary = _boundary(content_type)
    if not boundary:
        return None
    pieces = body.split(b"--" + boundary, MAX_FIELDS + 1)
    fields: dict[str, Any] = {}
    # pieces[0] is the preamble; past MAX_FIELDS the last piece is the unread rest.
    for piece in pieces[1 : MAX_FIELDS + 1]:
        if piece.startswith(b"--"):
            break  # the close delimiter "--boundary--"
        _, _, part = piece.partition(b"\r\n")  # the rest of the delimiter line
        head, found, content = part.partition(b"\r\n\r\n")
        if not found or len(head) > MAX_PART_HEADERS:
            continue
        # Browsers write non-ASCII names and filenames as raw UTF-8 (RFC 7578 §4.2).
        headers = HeaderParser().parsestr(head.decode("utf-8", errors="replace") + "\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        # The line break before the next delimiter belongs to the delimiter.
        content = content.removesuffix(b"\r\n")
        filename = headers.get_filename()
        if filename is not None:
            value: Any = {
                "filename": filename,
                "size": len(content),
                "content_type": headers.get_content_type(),
            }
        else:
            value = _text(content, headers.get_content_charset())
        _add(fields, name, value)
    return fields


def _boundary(content_type: str) -> bytes:
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    # RFC 2046 §5.1.1: 1 to 70 characters.
    if not isinstance(boundary, str) or not 0 < len(boundary) <= 70 or not boundary.isascii():
        return b""
    return boundary.encode()


def _text(content: bytes, charset: str | None) -> str:
    try:
        return content.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return content.decode("utf-8", errors="replace")


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
