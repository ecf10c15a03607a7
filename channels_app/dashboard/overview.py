from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import account_view


@account_view()
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "channels_app/overview.html", {})
