"""Keep everything under the API's URLs in the JSON error shape.

DRF's exception handler covers its own views; this middleware covers the rest: URLs that do
not resolve (Django's 404 page, even with DEBUG on), bodies that are too large, and any
response Django itself renders as HTML for an error.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from oneping.api.errors import documented_error

logger = logging.getLogger(__name__)

# The API, and the inbound webhook URLs machines post to: JSON errors only.
API_PREFIXES = ("/api/", "/hooks/")
# One-Ping-compatible alias of /api/v1/send (and its batch), answered exactly alike.
API_ALIASES = frozenset({"/send", "/send/batch"})
# Batches of up to 1,000 messages have their own, larger body limit.
BATCH_PATHS = frozenset({"/api/v1/send/batch", "/send/batch"})


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path.rstrip("/") in API_ALIASES


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path_info):
            return self.get_response(request)

        too_large = self._check_body_size(request)
        if too_large is not None:
            return too_large

        response = self.get_response(request)
        if response.status_code >= 400 and not _is_json(response):
            message = None
            if response.status_code == 404:
                message = f"There is no API endpoint at {request.method} {request.path_info}."
            return documented_error(response.status_code, message=message)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not is_api_path(request.path_info):
            return None
        if isinstance(exception, DatabaseError):
            logger.error("database unavailable under %s: %r", request.path_info, exception)
            return documented_error(503)
        logger.exception("Unhandled error under %s", request.path_info, exc_info=exception)
        return documented_error(500)

    @staticmethod
    def _check_body_size(request: HttpRequest) -> HttpResponse | None:
        limit = settings.ONEPING_API_MAX_BODY_BYTES
        if request.path_info.rstrip("/") in BATCH_PATHS:
            limit = settings.ONEPING_API_BATCH_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return documented_error(400, message="The Content-Length header is not a number.")
        if length > limit:
            return documented_error(
                413,
                message=f"The request body is {length} bytes; the limit is {limit} bytes.",
                details={"limit": limit, "size": length},
            )
        return None


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
