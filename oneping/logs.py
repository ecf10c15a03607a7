"""What a log line knows about the work it came from, and the JSON shape of a line.

A request binds its request id (and, once authenticated, its account id) in a context
variable; services bind the message, delivery or event id they work on. Every log record
picks them up through ContextFilter, so a line says which request or task it belongs to
without each call site passing ids. Tasks a request enqueues carry the request id and
account id in their Celery headers (before_task_publish) and bind them again in the worker
(task_prerun): one id follows a message from the API call to the provider's answer.

LOG_FORMAT=json (settings.LOGGING) writes each record as one JSON object on one line.
"""

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The ids a line may carry, in the order a JSON line lists them.
FIELDS = (
    "request_id",
    "account_id",
    "message_id",
    "delivery_id",
    "webhook_delivery_id",
    "event_id",
    "task_id",
    "task",
)
# Carried from the process that enqueues a task to the worker that runs it.
PROPAGATED = ("request_id", "account_id")
HEADER_PREFIX = "oneping_"

_context: ContextVar[dict[str, Any] | None] = ContextVar("oneping_log_context", default=None)

# An incoming X-Request-Id is kept when it is a plain token (a proxy's or a client's
# UUID, hex or base64 id): no spaces or control characters that could forge log lines.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")


def new_request_id(incoming: str | None = None) -> str:
    """The incoming id if it is sane, else a fresh one."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def current() -> dict[str, Any]:
    return dict(_context.get() or {})


def bind(**ids: Any) -> None:
    """Add ids to what this request or task logs (None values are left out)."""
    _context.set({**(_context.get() or {}), **{k: v for k, v in ids.items() if v is not None}})


def reset(ids: dict[str, Any] | None = None) -> None:
    """Start over: a new request or task, with only `ids`."""
    _context.set(dict(ids or {}))


class ContextFilter(logging.Filter):
    """Copies the bound ids onto every record (what `extra=` set wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the ids, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        for name in ("route", "method", "status", "duration_ms"):  # the request log's fields
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


# --- Celery: the request id travels with the task -------------------------------------------


def add_context_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """before_task_publish: the enqueuing request's (or task's) ids go into the message."""
    if headers is None:
        return
    ids = _context.get() or {}
    for name in PROPAGATED:
        if ids.get(name) is not None:
            headers[f"{HEADER_PREFIX}{name}"] = ids[name]


# The ids a task's arguments stand for, by task name (see the tasks' signatures).
TASK_ARGUMENT_IDS = {
    "channels_app.deliver": "delivery_id",
    "webhooks.send_webhook": "webhook_delivery_id",
    "webhooks.process_inbound": "event_id",
}


def bind_task_context(task: Any = None, task_id: str | None = None, args=None, **_: Any) -> None:
    """task_prerun: a task starts with the ids its message carried, its own id and name,
    and the row id(s) it was given."""
    request = getattr(task, "request", None)
    ids: dict[str, Any] = {"task_id": task_id, "task": getattr(task, "name", None)}
    for name in PROPAGATED:
        value = getattr(request, f"{HEADER_PREFIX}{name}", None)
        if value is None:  # older message protocols keep custom headers apart
            value = (getattr(request, "headers", None) or {}).get(f"{HEADER_PREFIX}{name}")
        ids[name] = value
    argument = TASK_ARGUMENT_IDS.get(getattr(task, "name", ""))
    if argument and args:
        rows = args[0]
        # A task of one row (most are) logs its id; a batch, the list.
        ids[argument] = rows[0] if isinstance(rows, list | tuple) and len(rows) == 1 else rows
    reset({k: v for k, v in ids.items() if v is not None})


def clear_task_context(**_: Any) -> None:
    """task_postrun: nothing of this task leaks into the next one on the same process."""
    reset()


def use_json_on_celery_handlers(logger: logging.Logger | None = None, **_: Any) -> None:
    """after_setup_logger / after_setup_task_logger: with LOG_FORMAT=json, Celery's own
    handlers (it takes over the root logger in a worker) write JSON lines too."""
    from django.conf import settings

    if logger is None or settings.LOG_FORMAT != "json":
        return
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
