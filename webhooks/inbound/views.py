from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oneping.api.errors import documented_error
from webhooks.inbound import receiving


@csrf_exempt  # signed by the sender, not by a browser session
@require_POST
def receive(request: HttpRequest, token: str) -> JsonResponse:
    limit = receiving.MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _too_large(limit)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _too_large(limit)
    answer = receiving.receive(
        token,
        body,
        dict(request.headers),
        request.content_type or "",
        request.META.get("REMOTE_ADDR"),
    )
    return JsonResponse(answer.body, status=answer.status, headers=answer.headers)


def _too_large(limit: int) -> JsonResponse:
    return documented_error(
        413, message=f"The body is larger than {limit} bytes.", details={"limit": limit}
    )
