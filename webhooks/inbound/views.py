from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oneping.bodies import read_capped, too_large
from webhooks.inbound import receiving


@csrf_exempt  # signed by the sender, not by a browser session
@require_POST
def receive(request: HttpRequest, token: str) -> JsonResponse:
    body = read_capped(request, receiving.MAX_BODY_BYTES)
    if body is None:
        return too_large(receiving.MAX_BODY_BYTES)
    answer = receiving.receive(
        token,
        body,
        dict(request.headers),
        # The whole header: request.content_type drops the parameters, and a multipart
        # body cannot be read without its boundary.
        request.META.get("CONTENT_TYPE", ""),
        request.META.get("REMOTE_ADDR"),
    )
    return JsonResponse(answer.body, status=answer.status, headers=answer.headers)
