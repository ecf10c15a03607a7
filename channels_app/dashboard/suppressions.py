"""The suppression list's page: every member reads it, an owner or admin lifts an address
(through channels_app.suppressions, as the API and the admin do)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Role, account_view
from channels_app import suppressions
from channels_app.models import Suppression
from channels_app.suppression_api import SuppressionFilter
from oneping.logorder import with_log_key
from oneping.pages import paginate


@account_view()
def suppression_list(request: HttpRequest) -> HttpResponse:
    base = with_log_key(suppressions.for_account(request.account)).select_related("delivery")
    filters = SuppressionFilter(request.GET, queryset=base)
    queryset = filters.qs if filters.is_valid() else base.none()
    return render(
        request,
        "channels_app/suppressions.html",
        {"filters": filters, "page": paginate(request, queryset)},
    )


@account_view(Role.ADMIN)
@require_POST
def suppression_lift(request: HttpRequest, suppression_id: str) -> HttpResponse:
    suppression = get_object_or_404(Suppression, pk=suppression_id, account=request.account)
    suppressions.lift(suppression)
    messages.success(
        request, f"Lifted: the next {suppression.channel} message to {suppression.address} is sent."
    )
    return redirect("dashboard-suppressions")
