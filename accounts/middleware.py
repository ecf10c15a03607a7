from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts.current import current_account


class CurrentAccountMiddleware:
    """Sets request.account for dashboard users, lazily (API requests set it from the key)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.account = SimpleLazyObject(lambda: current_account(request))
        return self.get_response(request)
