"""The one JSON error shape of the API, and the DRF exception handler that produces it.

{"error": {"code": "<snake_case>", "message": "<a sentence>", "details": {...}}}
"""

import logging
from functools import cache
from typing import Any

from django import forms
from django.db import DatabaseError
from django.http import JsonResponse
from kombu.exceptions import OperationalError as BrokerUnavailable
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from oneping.errors import ServiceError

logger = logging.getLogger(__name__)

# What a person should read for errors DRF raises with its own terse wording.
DEFAULT_MESSAGES: dict[str, str] = {
    "bad_request": "The request could not be understood.",
    "invalid_json": "The request body is not valid JSON.",
    "not_authenticated": ("No API key was sent. Send it as 'Authorization: Bearer op_live_…'."),
    "invalid_api_key": "The API key is unknown, revoked or malformed.",
    "permission_denied": "This API key is not allowed to do that.",
    "not_found": "No such resource in this account.",
    "method_not_allowed": "This method is not allowed on this URL.",
    "not_acceptable": "The API answers in JSON only.",
    "payload_too_large": "The request body is too large.",
    "unsupported_media_type": "Send the body as JSON with 'Content-Type: application/json'.",
    "rate_limited": "Too many requests. Retry after the time in the Retry-After header.",
    "internal_error": "Something went wrong on our side. The error was logged.",
    "service_unavailable": "The service is temporarily unavailable. Try again shortly.",
}

STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}

# DRF's own codes, renamed to ours.
_RENAMED_CODES = {
    "parse_error": "invalid_json",
    "authentication_failed": "invalid_api_key",
    "throttled": "rate_limited",
    "error": "bad_request",
}


def error_body(code: str, message: str | None = None, details: dict | None = None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message or DEFAULT_MESSAGES.get(code, "The request failed."),
            "details": details or {},
        }
    }


def documented_error(
    status_code: int,
    code: str | None = None,
    message: str | None = None,
    details: dict | None = None,
) -> JsonResponse:
    """A plain Django response in the error shape, for code outside DRF views."""
    code = code or STATUS_CODES.get(status_code, "error")
    return JsonResponse(error_body(code, message, details), status=status_code)


def describe_validation_error(exc: exceptions.ValidationError) -> tuple[str, str, dict]:
    """(code, message, details) of a validation error, for the API and for workers."""
    detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    details = {"fields": detail}
    field, first = _first_error(detail)
    code = getattr(first, "code", None) or "invalid"
    # Our own validators raise specific codes (message_too_long, …); the framework's
    # generic ones (required, blank, not_a_list…) stay behind the umbrella code.
    top_code = "validation_error" if code in _framework_codes() else code
    where = "" if field in (None, "non_field_errors") else f"{field}: "
    return top_code, f"{where}{first}", details


@cache
def _framework_codes() -> frozenset[str]:
    """Every error code DRF's and Django's own fields can raise."""
    codes = {"invalid", "required", "null", "blank", "unique", "max_length", "min_length"}
    # The validators every DRF CharField runs.
    codes |= {"null_characters_not_allowed", "surrogate_characters_not_allowed"}
    for base in (serializers.Field, forms.Field):
        stack = [base]
        while stack:
            cls = stack.pop()
            codes.update(getattr(cls, "default_error_messages", {}))
            stack.extend(cls.__subclasses__())
    return frozenset(codes)


def describe_service_error(exc: ServiceError) -> tuple[str, str, dict]:
    """(code, message, details) of a broken business rule, as the API answers it."""
    message, details = exc.message, exc.details
    if exc.field:  # as the serializer answers the same error found while validating
        message = f"{exc.field}: {exc.message}"
        details = {"fields": _nested(exc.field, exc.message), **details}
    return exc.code, message, details


def describe_error(exc: ServiceError | exceptions.ValidationError) -> dict[str, Any]:
    """The `error` object the API answers for `exc`: for one item of a batch, whose
    errors are answered side by side rather than raised."""
    if isinstance(exc, ServiceError):
        code, message, details = describe_service_error(exc)
    else:
        code, message, details = describe_validation_error(exc)
    return error_body(code, message, details)["error"]


def _nested(path: str, message: str) -> dict[str, Any]:
    """{"config": {"bot_token": [message]}} for "config.bot_token": a serializer's errors."""
    head, _, rest = path.partition(".")
    return {head: _nested(rest, message) if rest else [message]}


def _first_error(detail: Any, path: str | None = None) -> tuple[str | None, Any]:
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        return _first_error(value, key if path is None else f"{path}.{key}")
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], path)
    return path, detail


def api_exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, ServiceError):
        set_rollback()
        return Response(
            error_body(*describe_service_error(exc)), status=exc.status, headers=exc.headers
        )
    if isinstance(exc, DatabaseError | BrokerUnavailable):
        # The database (or broker) is out of reach: a 503 the caller may retry, not a bug.
        logger.error("service unavailable: %r", exc)
        set_rollback()
        return Response(error_body("service_unavailable"), status=503)
    response = drf_exception_handler(exc, context)
    if response is None:
        # Not an API exception: a bug. Log it with the traceback, answer in the error shape.
        logger.exception("Unhandled error in API view", exc_info=exc)
        set_rollback()
        return Response(error_body("internal_error"), status=500)

    if isinstance(exc, exceptions.ValidationError):
        code, message, details = describe_validation_error(exc)
        response.data = error_body(code, message, details)
        return response

    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
    code = codes if isinstance(codes, str) else STATUS_CODES.get(response.status_code, "error")
    code = _RENAMED_CODES.get(code, code)
    message = DEFAULT_MESSAGES.get(code)
    details: dict[str, Any] = {}
    if isinstance(exc, exceptions.ParseError):
        message = f"The request body is not valid JSON: {exc.detail}"
    elif isinstance(exc, exceptions.MethodNotAllowed):
        message = f"{context['request'].method} is not allowed on this URL."
        details = {"allowed": list(context["view"].allowed_methods)}
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        details = {"content_type": context["request"].content_type}
    elif isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retry_after": int(exc.wait)}
    elif message is None:
        message = str(exc.detail) if hasattr(exc, "detail") else None
    response.data = error_body(code, message, details)
    return response
