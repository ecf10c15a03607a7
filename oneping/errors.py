"""The error services raise when a request breaks a business rule.

The API turns it into the documented JSON error shape with its status; Celery tasks and
inbound processing record its code and message on the row they were working on. One about
a single input names it in `field` (as the API names it: "identifier", "config.bot_token"):
the API then answers like a serializer's own field error, the dashboard shows it next to
that field (oneping.apiforms).
"""

from typing import Any


class ServiceError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}
        self.headers = headers or {}
        self.field = field
