from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_app.callbacks import receiving
from channels_app.integrations.callbacks import CallbackRequest
from oneping.bodies import read_capped, too_large
from oneping.public_url import absolute_url


@csrf_exempt  # signed by the provider, not by a browser session
@require_http_methods(["GET", "POST"])
def provider_callback(request: HttpRequest, provider: str, token: str) -> HttpResponse:
    body = read_capped(request, receiving.MAX_BODY_BYTES)
    if body is None:
        return too_large(receiving.MAX_BODY_BYTES)
    # The stream is read: anymail's tracking views read request.body and request.POST, which
    # Django serves from _body once it is set (HttpRequest.body).
    request._body = body
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
        token=token,
        http=request,
    )
    answer = receiving.receive(provider, token, callback)
    if isinstance(answer.body, dict):
        return JsonResponse(answer.body, status=answer.status, headers=answer.headers)
    return HttpResponse(
        answer.body, status=answer.status, content_type=answer.content_type, headers=answer.headers
    )
