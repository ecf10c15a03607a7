from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_app.callbacks import receiving
from channels_app.integrations.callbacks import CallbackRequest
from oneping.api.errors import documented_error
from oneping.public_url import absolute_url


@csrf_exempt  # signed by the provider, not by a browser session
@require_http_methods(["GET", "POST"])
def provider_callback(request: HttpRequest, provider: str, token: str) -> HttpResponse:
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
    form = {}
    if request.content_type == "application/x-www-form-urlencoded":
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    callback = CallbackRequest(
        method=request.method or "POST",
        # The URL the provider called: on ONEPING_PUBLIC_URL when set, never a Host header a
        # proxy rewrote (Twilio signs the full URL).
        url=absolute_url(request.get_full_path(), request) or "",
        body=body,
        headers={name.lower(): value for name, value in request.headers.items()},
        query=request.GET.dict(),
        form=form,
    )
    answer = receiving.receive(provider, token, callback)
    if isinstance(answer.body, dict):
        return JsonResponse(answer.body, status=answer.status, headers=answer.headers)
    return HttpResponse(
        answer.body, status=answer.status, content_type=answer.content_type, headers=answer.headers
    )


def _too_large(limit: int) -> JsonResponse:
    return documented_error(
        413, message=f"The body is larger than {limit} bytes.", details={"limit": limit}
    )
