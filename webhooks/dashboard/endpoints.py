"""Dashboard: delivery-status webhook endpoints, their secrets and their attempt log."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.permissions import Role, account_view
from oneping.errors import ServiceError
from oneping.pages import paginate
from webhooks import endpoints, events, sending
from webhooks.dashboard.forms import EndpointForm, RecoverForm, ReplayForm
from webhooks.models import Event, WebhookAttempt, WebhookEndpoint
from webhooks.signing import new_secret


def _endpoint(request: HttpRequest, endpoint_id: str) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=endpoint_id, account=request.account)


def set_enabled(endpoint: WebhookEndpoint, enabled: bool, by: str) -> None:
    """Enable or disable as the API's update does: re-enabling forgets the old failures
    and sends what was kept waiting; disabling records who did it, shown on the endpoint."""
    if enabled == endpoint.enabled:
        return
    if not enabled:
        sending.disable(endpoint, f"Disabled by {by} on {timezone.now():%Y-%m-%d %H:%M} UTC.")
        return
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            enabled=True, disabled_reason="", failing_since=None
        )
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, "", None
        sending.resume(endpoint)


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new secret; the old one keeps signing alongside it for the overlap (24 h), so
    receivers can switch without losing events (the API's rotate-secret)."""
    overlap = timedelta(hours=settings.ONEPING_WEBHOOK_ROTATION_OVERLAP_HOURS)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + overlap
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint.secret


def send_test_event(endpoint: WebhookEndpoint) -> Event:
    with transaction.atomic():
        return events.create_event(
            endpoint.account,
            events.TEST_EVENT,
            {"endpoint_id": endpoint.pk, "message": "Test event from oneping."},
            endpoints=[endpoint],
        )


@account_view()
def endpoint_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, WebhookEndpoint.objects.filter(account=request.account))
    return render(request, "webhooks/endpoints.html", {"page": page})


@account_view(Role.ADMIN)
def endpoint_edit(request: HttpRequest, endpoint_id: str | None = None) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id) if endpoint_id is not None else None
    form = EndpointForm(request.POST or None, instance=endpoint)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            if endpoint is None:
                saved = endpoints.create_webhook_endpoint(request.account, **form.cleaned_data)
            else:
                saved = form.save()
        except ServiceError as exc:  # limit_reached
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, f"Saved webhook endpoint {saved.url}.")
            return redirect("dashboard-webhook", saved.pk)
    context = {"form": form, "endpoint": endpoint}
    return render(request, "webhooks/endpoint_form.html", context, status=status)


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
    set_enabled(endpoint, enable, by=request.user.email)
    messages.success(request, f"{'Enabled' if enable else 'Disabled'} {endpoint.url}.")
    return redirect("dashboard-webhooks")


@account_view(Role.ADMIN)
@require_POST
def endpoint_delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    endpoint.delete()
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
    secret = rotate_secret(endpoint)
    context = {"endpoint": endpoint, "secret": secret, "rotated": True}
    return render(request, "webhooks/secret.html", context)


@account_view()
@require_POST
def endpoint_test(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if not endpoint.enabled:
        messages.error(request, "This endpoint is disabled; enable it before sending a test.")
    else:
        event = send_test_event(endpoint)
        messages.success(request, f"Queued test event {event.pk} for {endpoint.url}.")
    return redirect("dashboard-webhook", endpoint.pk)


@account_view(Role.ADMIN)
@require_POST
def endpoint_replay(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    form = ReplayForm(request.POST)
    event = None
    if form.is_valid():
        event_id = form.cleaned_data["event_id"].strip()
        event = Event.objects.filter(account=request.account, pk=event_id).first()
    if event is None:
        messages.error(request, "No such event in this account.")
    else:
        queued = sending.replay(event, endpoint)
        messages.success(request, f"Queued {queued} for replay of {event.pk}.")
    return redirect("dashboard-webhook", endpoint.pk)


@account_view(Role.ADMIN)
@require_POST
def endpoint_recover(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    form = RecoverForm(request.POST)
    if form.is_valid():
        queued = sending.recover(endpoint, form.cleaned_data["since"])
        messages.success(request, f"Queued {queued} failed deliveries to send again.")
    else:
        messages.error(request, f"Give a valid date and time: {form.errors['since'][0]}")
    return redirect("dashboard-webhook", endpoint.pk)
