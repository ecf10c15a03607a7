"""Dashboard: delivery-status webhook endpoints, their secrets and their attempt log.

Each action calls the same service as the API (webhooks.endpoints, webhooks.replay) and
shows its refusal in the API's words: next to the field on a form, else as a message. The
endpoint form goes through the API's serializer (oneping.apiforms), as the API does.
"""

from functools import partial

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Role, account_view
from oneping.errors import ServiceError
from oneping.pages import paginate
from webhooks import endpoints, replay
from webhooks.dashboard.forms import EndpointForm, RecoverForm, ReplayForm
from webhooks.models import WebhookAttempt, WebhookEndpoint
from webhooks.serializers import WebhookEndpointSerializer


def _endpoint(request: HttpRequest, endpoint_id: str) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=endpoint_id, account=request.account)


@account_view()
def endpoint_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, WebhookEndpoint.objects.filter(account=request.account))
    return render(request, "webhooks/endpoints.html", {"page": page})


@account_view(Role.ADMIN)
def endpoint_edit(request: HttpRequest, endpoint_id: str | None = None) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id) if endpoint_id is not None else None
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST":
        if endpoint is None:
            act = partial(endpoints.create, request.account)
        else:
            act = partial(endpoints.update, endpoint)
        saved = form.submit(
            WebhookEndpointSerializer, endpoint, context={"request": request}, act=act
        )
        if saved is not None:
            messages.success(request, f"Saved webhook endpoint {saved.url}.")
            return redirect("dashboard-webhook", saved.pk)
    context = {"form": form, "endpoint": endpoint}
    return render(request, "webhooks/endpoint_form.html", context, status=form.status)


@account_view()
def endpoint_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    # The event body is the whole signed document; the log only needs its type.
    attempts = WebhookAttempt.objects.filter(endpoint=endpoint).select_related("event")
    page = paginate(request, attempts.defer("event__body"))
    context = {
        "endpoint": endpoint,
        "page": page,
        "replay_form": ReplayForm(),
        "recover_form": RecoverForm(),
    }
    return render(request, "webhooks/endpoint_detail.html", context)


@account_view(Role.ADMIN)
@require_POST
def endpoint_toggle(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    enable = request.POST.get("enabled") == "1"
    reason = endpoints.disabled_by(request.user.email)
    endpoints.set_enabled(endpoint, enable, reason=reason)
    messages.success(request, f"{'Enabled' if enable else 'Disabled'} {endpoint.url}.")
    return redirect("dashboard-webhooks")


@account_view(Role.ADMIN)
@require_POST
def endpoint_delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    endpoints.delete(endpoint)
    messages.success(request, f"Deleted webhook endpoint {endpoint.url}.")
    return redirect("dashboard-webhooks")


@account_view(Role.ADMIN)
@require_POST
def endpoint_secret(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    # A POST, so the secret never sits in browser history or a shared link.
    endpoint = _endpoint(request, endpoint_id)
    return render(
        request, "webhooks/secret.html", {"endpoint": endpoint, "secret": endpoint.secret}
    )


@account_view(Role.ADMIN)
@require_POST
def endpoint_rotate(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    secret = endpoints.rotate_secret(endpoint)
    context = {"endpoint": endpoint, "secret": secret, "rotated": True}
    return render(request, "webhooks/secret.html", context)


@account_view()
@require_POST
def endpoint_test(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    try:
        event = endpoints.send_test(endpoint)
    except ServiceError as exc:  # endpoint_disabled
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Queued test event {event.pk} for {endpoint.url}.")
    return redirect("dashboard-webhook", endpoint.pk)


@account_view(Role.ADMIN)
@require_POST
def endpoint_replay(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    form = ReplayForm(request.POST)
    event_id = form.cleaned_data["event_id"].strip() if form.is_valid() else ""
    try:
        queued = replay.replay(request.account, event_id, endpoint.pk)
    except ServiceError as exc:  # not_found
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Queued {queued} for replay of {event_id}.")
    return redirect("dashboard-webhook", endpoint.pk)


@account_view(Role.ADMIN)
@require_POST
def endpoint_recover(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    form = RecoverForm(request.POST)
    if form.is_valid():
        queued = replay.recover(endpoint, form.cleaned_data["since"])
        messages.success(request, f"Queued {queued} failed deliveries to send again.")
    else:
        messages.error(request, form.errors["since"][0])
    return redirect("dashboard-webhook", endpoint.pk)
