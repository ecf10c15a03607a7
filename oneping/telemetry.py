"""Every request: an X-Request-Id, its metrics by route and status, one log line."""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from oneping import instruments, logs

logger = logging.getLogger("oneping.requests")

REQUEST_ID_HEADER = "X-Request-Id"
# Label of requests no URL pattern matched (scanners' paths must not become labels).
UNMATCHED = "unmatched"


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name (`message-list`, `inbound-webhook`), never the raw path:
    ids and tokens in paths would make a label per request."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


class RequestTelemetryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logs.new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        logs.reset({"request_id": request_id})
        started = time.perf_counter()
        instruments.HTTP_IN_PROGRESS.inc()
        try:
            response = self.get_response(request)
        finally:
            instruments.HTTP_IN_PROGRESS.dec()
        elapsed = time.perf_counter() - started
        route, status = route_of(request), str(response.status_code)
        instruments.HTTP_REQUESTS.labels(route, request.method, status).inc()
        instruments.HTTP_LATENCY.labels(route, request.method, status).observe(elapsed)
        response[REQUEST_ID_HEADER] = request_id
        logger.info(
            "%s %s %s",
            request.method,
            route,
            status,
            extra={
                "route": route,
                "method": request.method,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        # Threads of a gthread worker serve request after request: nothing carries over.
        logs.reset()
        return response
