"""Per-API-key rate limit, at the key's plan's rate, counted in the shared cache.

DRF's SimpleRateThrottle keeps a sliding window of request times per key in the cache; with
CACHE_URL pointing at Redis every web process sees the same window.
https://www.django-rest-framework.org/api-guide/throttling/
"""

from typing import TYPE_CHECKING

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey

if TYPE_CHECKING:  # rest_framework.views imports this module while it loads
    from rest_framework.views import APIView


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str | None:
        return None  # set per request from the key's plan, in allow_request

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if not isinstance(request.auth, ApiKey):
            return True  # unauthenticated requests are refused before they cost anything
        self.rate = f"{request.auth.account.plan.api_requests_per_minute}/min"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: "APIView") -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
