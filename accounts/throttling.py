"""Per-API-key rate limit, at the key's plan's rate, counted in the shared cache.

A fixed one-minute window per key: one atomic increment per request (Redis INCR when
CACHE_URL points at Redis, so every web process counts together). DRF's SimpleRateThrottle
keeps the list of every request time in the window instead, which grows with the rate and
was measured at less than half the trivial view's throughput once full (docs/benchmarks.md).
"""

import time
from typing import TYPE_CHECKING

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey

if TYPE_CHECKING:  # rest_framework.views imports this module while it loads
    from rest_framework.views import APIView

WINDOW_SECONDS = 60


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: "APIView") -> bool:
        if not isinstance(request.auth, ApiKey):
            return True  # unauthenticated requests are refused before they cost anything
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        self.window_ends = (window + 1) * WINDOW_SECONDS
        key = f"throttle:api-key:{request.auth.pk}:{window}"
        # add() is a no-op when the key exists; the expiry outlives the window a little so a
        # late increment never finds it gone.
        cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr(): start the count again
            cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
            count = 1
        return count <= request.auth.account.plan.api_requests_per_minute

    def wait(self) -> float:
        return max(self.window_ends - time.time(), 1.0)
