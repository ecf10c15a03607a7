"""Dashboard: inbound endpoints, a curl example that really verifies, received events."""

import json
import shlex
from functools import partial

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Role, account_view, has_role
from oneping.pages import paginate
from oneping.public_url import absolute_url
from webhooks.dashboard.forms import (
    InboundEndpointEditForm,
    InboundEndpointForm,
    InboundPreviewForm,
)
from webhooks.inbound import endpoints, preview
from webhooks.inbound.rules import WILDCARD
from webhooks.inbound.schemes import SCHEMES, Scheme
from webhooks.inbound.schemes.base import curl_header
from webhooks.inbound.serializers import (
    InboundEndpointSerializer,
    InboundPreviewRequestSerializer,
    messages_of,
)
from webhooks.models import InboundEndpoint, InboundEvent

SECRET_PLACEHOLDER = "YOUR_SECRET"  # noqa: S105 (shown to members instead of the secret)


def inbound_url(request: HttpRequest, endpoint: InboundEndpoint) -> str:
    return absolute_url(f"/hooks/in/{endpoint.token}", request)


def sample_event_type(endpoint: InboundEndpoint, scheme: Scheme) -> str:
    for rule in endpoint.rules:
        if rule.get("event") and rule["event"] != WILDCARD:
            return rule["event"]
    return scheme.sample_event


def curl_example(endpoint: InboundEndpoint, url: str, secret: str) -> str:
    """A shell snippet that sends a correctly signed request to this endpoint; the scheme
    says how to sign (Scheme.sample_body and Scheme.curl_signing)."""
    scheme = SCHEMES[endpoint.verification]
    event_type = sample_event_type(endpoint, scheme)
    signing = scheme.curl_signing(event_type, scheme.options(endpoint))
    lines = [f"URL={shlex.quote(url)}"]
    if scheme.needs_secret:
        lines.append(f"SECRET={shlex.quote(secret)}")
    lines.append(f"BODY={shlex.quote(scheme.sample_body(event_type))}")
    lines += signing.lines
    command = ['curl -s -X POST "$URL"', curl_header("Content-Type", "application/json")]
    command += signing.headers
    command.append('--data-binary "$BODY"')
    lines.append(" \\\n     ".join(command))
    return "\n".join(lines)


def scheme_settings(endpoint: InboundEndpoint, scheme: Scheme) -> list[tuple[str, str]]:
    """The scheme's settings as the API names them, an object (HMAC's description) as JSON."""
    shown = []
    for name in scheme.settings:
        value = getattr(endpoint, name)
        shown.append((name, json.dumps(value) if isinstance(value, dict) else value))
    return shown


def pretty_body(event: InboundEvent) -> str:
    """The body as received; indented when it is JSON, so nested payloads are readable."""
    text = bytes(event.body).decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _endpoint(request: HttpRequest, endpoint_id: str) -> InboundEndpoint:
    return get_object_or_404(InboundEndpoint, pk=endpoint_id, account=request.account)


@account_view()
def inbound_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, InboundEndpoint.objects.filter(account=request.account))
    rows = [(endpoint, inbound_url(request, endpoint)) for endpoint in page]
    return render(request, "webhooks/inbound_list.html", {"page": page, "rows": rows})


@account_view(Role.ADMIN)
def inbound_create(request: HttpRequest) -> HttpResponse:
    form = InboundEndpointForm(request.POST or None)
    if request.method == "POST":
        # The API's serializer validates, the API's service creates (oneping.apiforms): the
        # same rules, errors and limit for the same input.
        endpoint = form.submit(
            InboundEndpointSerializer,
            context={"request": request},
            act=partial(endpoints.create, request.account),
        )
        if endpoint is not None:
            messages.success(request, f"Created inbound endpoint {endpoint.name}.")
            return redirect("dashboard-inbound-endpoint", endpoint.pk)
    return render(request, "webhooks/inbound_form.html", {"form": form}, status=form.status)


@account_view(Role.ADMIN)
def inbound_edit(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """Change what the API's PATCH changes, but the verification and the secret: the same
    serializer validates, the same service saves (and only the fields the form has)."""
    endpoint = _endpoint(request, endpoint_id)
    form = InboundEndpointEditForm(request.POST or None, instance=endpoint)
    if request.method == "POST":
        saved = form.submit(
            InboundEndpointSerializer,
            endpoint,
            context={"request": request},
            act=partial(endpoints.update, endpoint),
        )
        if saved is not None:
            messages.success(request, f"Saved inbound endpoint {saved.name}.")
            return redirect("dashboard-inbound-endpoint", saved.pk)
    context = {"form": form, "endpoint": endpoint}
    return render(request, "webhooks/inbound_form.html", context, status=form.status)


@account_view()
def inbound_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    return render(request, "webhooks/inbound_detail.html", _detail_context(request, endpoint))


@account_view(Role.ADMIN)
@require_POST
def inbound_preview(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """The preview form on the endpoint's page (admins: like the API's `admin` scope, it
    tells whether a body verifies with the secret). The API's serializer and service."""
    endpoint = _endpoint(request, endpoint_id)
    form = InboundPreviewForm(request.POST)
    result = form.submit(
        InboundPreviewRequestSerializer,
        context={"request": request},
        act=partial(preview.preview, endpoint),
    )
    context = _detail_context(request, endpoint, preview_form=form, previewed=result)
    # A service's refusal keeps its status (429 past the preview rate); field errors are 400.
    status = 200 if result is not None else max(form.status, 400)
    return render(request, "webhooks/inbound_detail.html", context, status=status)


def _detail_context(
    request: HttpRequest,
    endpoint: InboundEndpoint,
    preview_form: InboundPreviewForm | None = None,
    previewed: dict | None = None,
) -> dict:
    url = inbound_url(request, endpoint)
    # Members read everything but secrets; their example needs the secret filled in.
    show_secret = has_role(request.membership, Role.ADMIN)
    secret = endpoint.secret if show_secret else SECRET_PLACEHOLDER
    received = InboundEvent.objects.filter(endpoint=endpoint).defer("body", "headers", "traceback")
    scheme = SCHEMES[endpoint.verification]
    return {
        "endpoint": endpoint,
        "scheme": scheme,
        "scheme_settings": scheme_settings(endpoint, scheme),
        "url": url,
        "curl": curl_example(endpoint, url, secret),
        "show_secret": show_secret,
        "page": paginate(request, received),
        "preview_form": preview_form or InboundPreviewForm(),
        "previewed": previewed,
    }


@account_view()
def inbound_event(request: HttpRequest, endpoint_id: str, event_id: str) -> HttpResponse:
    event = get_object_or_404(
        InboundEvent.objects.select_related("endpoint"),
        pk=event_id,
        endpoint_id=endpoint_id,
        account=request.account,
    )
    context = {
        "event": event,
        "endpoint": event.endpoint,
        "body": pretty_body(event),
        "made": messages_of(event),
    }
    return render(request, "webhooks/inbound_event.html", context)


@account_view(Role.ADMIN)
@require_POST
def inbound_toggle(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = endpoints.set_enabled(
        _endpoint(request, endpoint_id), request.POST.get("enabled") == "1"
    )
    messages.success(request, f"{'Enabled' if endpoint.enabled else 'Disabled'} {endpoint.name}.")
    return redirect("dashboard-inbound")


@account_view(Role.ADMIN)
@require_POST
def inbound_delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    endpoints.delete(endpoint)
    messages.success(request, f"Deleted inbound endpoint {endpoint.name}.")
    return redirect("dashboard-inbound")
