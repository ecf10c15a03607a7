"""Content-Security-Policy for every HTML page.

The dashboard loads scripts only from our own static files (htmx comes from django-htmx),
so scripts are limited to 'self'. Styles allow inline attributes for the few computed
widths (meters, charts). Swagger UI's page at /api/docs/ boots with an inline script and
gets that one allowance on that one path.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
API_DOCS_POLICY = POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            docs = request.path_info.startswith("/api/docs/")
            response.setdefault("Content-Security-Policy", API_DOCS_POLICY if docs else POLICY)
        return response
