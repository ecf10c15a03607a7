"""Content-Security-Policy for every HTML page.

The dashboard loads scripts only from our own static files (htmx comes from django-htmx),
so scripts are limited to 'self'. Styles allow inline attributes for the few computed
widths (meters, charts). Swagger UI's page at /api/docs/ boots with an inline script and
gets that one allowance on that one path.

form-action also governs where a form's redirects may go (https://www.w3.org/TR/CSP3/#directive-form-action),
and the plan page's "Upgrade" and "Manage billing" forms answer with a redirect to Stripe's
hosted pages (accounts/billing/): Checkout and the Billing Portal are allowed there, and
so is the origin of STRIPE_API_BASE when it is not Stripe's (a fake in tests, a staging
mock), which serves its stand-ins for those pages itself.
"""

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Where Stripe hosts Checkout and the Billing Portal (the URLs its sessions answer with).
STRIPE_PAGES = ("https://checkout.stripe.com", "https://billing.stripe.com")

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
        "form-action 'self' {form_targets}",
        "frame-ancestors 'none'",
    ]
)
API_DOCS_POLICY = POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


@lru_cache(maxsize=8)
def _policies(stripe_api_base: str) -> tuple[str, str]:
    """(the pages' policy, the API docs') with the form targets of this Stripe base."""
    targets = list(STRIPE_PAGES)
    parts = urlsplit(stripe_api_base)
    if parts.scheme and parts.netloc and parts.netloc != "api.stripe.com":
        targets.append(f"{parts.scheme}://{parts.netloc}")
    form_targets = " ".join(targets)
    return (
        POLICY.format(form_targets=form_targets),
        API_DOCS_POLICY.format(form_targets=form_targets),
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            docs = request.path_info.startswith("/api/docs/")
            pages, api_docs = _policies(settings.STRIPE_API_BASE)
            response.setdefault("Content-Security-Policy", api_docs if docs else pages)
        return response
