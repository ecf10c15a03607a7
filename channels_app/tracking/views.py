"""The open pixel and the click-through redirect (receiving.py has the rules)."""

import base64

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.views.decorators.http import require_safe

from channels_app.tracking import receiving

# The smallest transparent GIF: 1x1, one colour (GIF89a, 42 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# Every hit must reach us: nothing along the way (a browser, a proxy) may keep the answer.
NO_STORE = "no-store, private"


@require_safe
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    if not receiving.opened(token, _hit(request)):
        return _not_found()
    return HttpResponse(PIXEL, content_type="image/gif", headers={"Cache-Control": NO_STORE})


@require_safe
def click(request: HttpRequest, token: str) -> HttpResponse:
    url = receiving.clicked(token, _hit(request))
    if url is None:
        return _not_found()
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = NO_STORE
    # The link's site need not learn the tracking URL it came through.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _hit(request: HttpRequest) -> receiving.Hit:
    return receiving.Hit(
        user_agent=request.headers.get("User-Agent", ""),
        remote_ip=request.META.get("REMOTE_ADDR"),
        counts=request.method == "GET",
    )


def _not_found() -> HttpResponse:
    # Small and plain: a mail client or a browser asked, not an API client.
    return HttpResponseNotFound("Not found.", content_type="text/plain; charset=utf-8")
