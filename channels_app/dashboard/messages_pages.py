from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Role, account_view
from channels_app import delivery as delivery_service
from channels_app.dashboard.fate import fate_of, first_click_url
from channels_app.filters import MessageFilter
from channels_app.models import Delivery, Message, ProviderReport, TimelineEntry
from oneping.errors import ServiceError
from oneping.logorder import with_log_key
from oneping.pages import paginate

IN_PROGRESS = (Message.Status.QUEUED, Message.Status.PROCESSING)


@account_view()
def message_list(request: HttpRequest) -> HttpResponse:
    base = with_log_key(Message.objects.filter(account=request.account)).prefetch_related(
        "deliveries"
    )
    filters = MessageFilter(request.GET, queryset=base)
    queryset = filters.qs if filters.is_valid() else base.none()
    return render(
        request,
        "channels_app/messages.html",
        {"filters": filters, "page": paginate(request, queryset)},
    )


@account_view()
def message_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    timeline = Prefetch("timeline", queryset=TimelineEntry.objects.order_by("at", "id"))
    # Only the failure reports: a bounce's kind and the provider's reason are kept there,
    # not on the timeline; the many open and click reports are not needed (fate.py).
    failures = Prefetch(
        "reports",
        queryset=ProviderReport.objects.filter(reported_status__in=Delivery.ENDED_FAILED).order_by(
            "received_at", "pk"
        ),
    )
    deliveries = Delivery.objects.prefetch_related(timeline, failures).annotate(
        first_click_url=first_click_url()
    )
    message = get_object_or_404(
        Message.objects.prefetch_related(Prefetch("deliveries", queryset=deliveries)),
        pk=message_id,
        account=request.account,
    )
    deliveries = [(delivery, fate_of(delivery)) for delivery in message.deliveries.all()]
    context = {
        "message": message,
        "deliveries": deliveries,
        "live": message.status in IN_PROGRESS,
        "retryable": Delivery.ENDED_FAILED,
    }
    # While deliveries are in progress the page polls itself (htmx) for this fragment.
    template = "channels_app/_message_body.html" if request.htmx else "channels_app/message.html"
    return render(request, template, context)


@account_view(Role.ADMIN)
@require_POST
def delivery_retry(request: HttpRequest, delivery_id: str) -> HttpResponse:
    delivery = get_object_or_404(Delivery, pk=delivery_id, account=request.account)
    try:
        delivery_service.retry_failed(delivery)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Queued the delivery again.")
    return redirect("dashboard-message", message_id=delivery.message_id)
