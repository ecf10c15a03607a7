"""Where an endpoint's event type comes from: its `event_type_from`, else the scheme.

`event_type_from` is one of
- `{"header": "X-Gitlab-Event"}`: a request header (GitLab, Bitbucket's X-Event-Key);
- `{"path": "data.type"}`: a dotted path into the payload, numbers index lists
  (`alerts.0.status`);
- `{"template": "{{ headers['sentry-hook-resource'] }}.{{ action }}"}`: a template with
  the payload's fields, `payload` and `headers` (lower-case names) as variables.
When the source gives nothing (no such header or path, a blank result) the scheme's event
type is used, as without `event_type_from`.

A header or a path is read when the request is received (data only). A template is
customer code, so it renders where the rules' templates render: in the worker, in the
isolated child with the same budget (webhooks.inbound.isolation); until then the event
carries the scheme's type, and a template error fails the event with its reason, like a
rule's template error (reprocessing after a fix renders it again).
"""

import re
from collections.abc import Mapping
from typing import Any

from oneping.storable import unstorable_text
from webhooks.inbound.isolation import render_all
from webhooks.inbound.templates import syntax_error

SOURCES = ("header", "path", "template")
MAX_EVENT_TYPE = 200  # InboundEvent.event_type's length
MAX_TEMPLATE = 1000
MAX_PATH = 200
# RFC 9110 §5.1: a field name is a token.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
PATH_SEGMENT = re.compile(r"^[^.\s]+$")


class EventTypeFromError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def clean(value: Any) -> dict[str, str] | None:
    """Validate an endpoint's `event_type_from` (None or {} means "the scheme's");
    EventTypeFromError names the field."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in SOURCES:
        raise EventTypeFromError(
            "event_type_from",
            'Give one of {"header": "X-Event-Name"}, {"path": "data.type"} or '
            '{"template": "{{ … }}"}.',
        )
    source, given = next(iter(value.items()))
    where = f"event_type_from.{source}"
    if not isinstance(given, str) or not given.strip():
        raise EventTypeFromError(where, "Must be a non-empty string.")
    given = given.strip()
    problem = unstorable_text(given)
    if problem:
        raise EventTypeFromError(where, problem)
    if source == "header":
        _clean_header(given, where)
    elif source == "path":
        if len(given) > MAX_PATH or not all(PATH_SEGMENT.match(s) for s in given.split(".")):
            raise EventTypeFromError(
                where, "A dotted path such as data.type or alerts.0.status (no blank parts)."
            )
    else:
        if len(given) > MAX_TEMPLATE:
            raise EventTypeFromError(where, f"At most {MAX_TEMPLATE} characters.")
        problem = syntax_error(given)
        if problem:
            raise EventTypeFromError(where, problem)
    return {source: given}


def _clean_header(name: str, where: str) -> None:
    from webhooks.inbound.receiving import kept_headers  # receiving imports this module

    if not HEADER_NAME.match(name):
        raise EventTypeFromError(where, "Not a header name.")
    if not kept_headers({name: ""}):
        # Its value would become the event type, shown to every member: not a credential.
        raise EventTypeFromError(where, "This header carries credentials; it is not kept.")


def at_receipt(
    event_type_from: Mapping[str, str] | None,
    scheme_type: str,
    headers: Mapping[str, str],
    payload: Any,
) -> str:
    """The event type stored when the request is received. `headers` are the kept ones
    (receiving.kept_headers); a template source is left to the worker (for_rules)."""
    source = _source(event_type_from)
    found = None
    if isinstance(source.get("header"), str):
        lowered = {name.lower(): value for name, value in headers.items()}
        found = lowered.get(source["header"].lower())
    elif isinstance(source.get("path"), str):
        found = _at_path(payload, source["path"])
    found = found.strip() if isinstance(found, str) else ""
    return _storable(found or scheme_type)


def for_rules(
    event_type_from: Mapping[str, str] | None,
    received_type: str,
    headers: Mapping[str, str],
    payload: Any,
) -> str:
    """The event type the rules match: a template source rendered now (in the isolated
    child; raises RenderError), else the type stored at receipt."""
    template = _source(event_type_from).get("template")
    if not isinstance(template, str) or not template:
        return received_type
    variables: dict[str, Any] = {}
    if isinstance(payload, dict):
        variables.update({key: value for key, value in payload.items() if isinstance(key, str)})
    variables.update(
        payload=payload, headers={name.lower(): value for name, value in headers.items()}
    )
    rendered = render_all({"event_type": template}, variables)["event_type"].strip()
    return _storable(rendered or received_type)


def _storable(text: str) -> str:
    # JSON may spell NUL and lone surrogates ("\\u0000", "\\ud800"), which no text column
    # takes (oneping.storable): they are dropped from a name rather than failing the write.
    kept = "".join(c for c in text if c != "\x00" and not "\ud800" <= c <= "\udfff")
    return kept[:MAX_EVENT_TYPE]


def _source(event_type_from: Any) -> dict[str, Any]:
    # Only clean values are saved by the API and the dashboard; anything else (a row
    # edited in the admin's raw JSON) means the scheme's type, not a 500.
    return event_type_from if isinstance(event_type_from, dict) else {}


def _at_path(payload: Any, path: str) -> str | None:
    value = payload
    for segment in path.split("."):
        if isinstance(value, dict):
            value = value.get(segment)
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return None
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None  # not a name: the scheme's type is a better one
    return str(value)
