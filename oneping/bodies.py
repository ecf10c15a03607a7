"""Reading a request body with a cap, for the receivers outside /api/ (inbound webhooks,
provider status callbacks), whose senders are not our API clients: the API's middleware
caps /api/ bodies the same way (oneping.api.middleware)."""

from django.http import HttpRequest, JsonResponse

from oneping.api.errors import documented_error


def read_capped(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it is longer than `limit` bytes (declared or sent)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def too_large(limit: int) -> JsonResponse:
    return documented_error(
        413, message=f"The body is larger than {limit} bytes.", details={"limit": limit}
    )
