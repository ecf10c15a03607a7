"""Dashboard: inbound endpoints, a curl example that really verifies, received events."""

import json
import re
import shlex

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Role, account_view, has_role
from oneping.errors import ServiceError
from oneping.pages import paginate
from webhooks import endpoints
from webhooks.dashboard.forms import InboundEndpointForm
from webhooks.inbound.rules import WILDCARD
from webhooks.inbound.serializers import InboundEndpointSerializer
from webhooks.models import InboundEndpoint, InboundEvent

SECRET_PLACEHOLDER = "YOUR_SECRET"  # noqa: S105 (shown to members instead of the secret)
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
# A sample event type per scheme, for endpoints whose rules only have a "*" rule.
SAMPLE_EVENT = {"shopify": "orders/create", "github": "push", "stripe": "payment_intent.succeeded"}


def inbound_url(request: HttpRequest, endpoint: InboundEndpoint) -> str:
    return request.build_absolute_uri(f"/hooks/in/{endpoint.token}")


def sample_event_type(endpoint: InboundEndpoint) -> str:
    for rule in endpoint.rules:
        if rule.get("event") and rule["event"] != WILDCARD:
            return rule["event"]
    return SAMPLE_EVENT.get(endpoint.verification, "test")


def sample_body(endpoint: InboundEndpoint, event_type: str) -> str:
    """A small body shaped like the sender's, with the fields the presets' templates use,
    so the example also turns into a notification rather than a template error."""
    body: dict
    match endpoint.verification:
        case "shopify":  # the event type travels in X-Shopify-Topic
            body = {
                "name": "#1001",
                "order_number": 1001,
                "total_price": "19.99",
                "currency": "EUR",
                "customer": {"first_name": "Jane", "last_name": "Doe"},
            }
        case "github":  # the event type travels in X-GitHub-Event
            body = {
                "ref": "refs/heads/main",
                "compare": "https://github.com/acme/app/compare/1a2b...3c4d",
                "repository": {"full_name": "acme/app"},
                "pusher": {"name": "jane"},
                "commits": [{"id": "3c4d", "message": "Try oneping"}],
            }
        case "stripe":
            payment = {"id": "pi_curl", "amount": 1999, "amount_received": 1999, "currency": "eur"}
            body = {"id": "evt_curl", "type": event_type, "data": {"object": payment}}
        case _:
            body = {"event": event_type, "message": "Hello from curl"}
    return json.dumps(body)


def _header(name: str, value: str, *, literal: bool = True) -> str:
    """A curl -H argument; a non-literal value may use shell variables ($SIG)."""
    if literal:
        return f"-H {shlex.quote(f'{name}: {value}')}"
    if HEADER_NAME.match(name):
        return f'-H "{name}: {value}"'
    return f'-H {shlex.quote(name + ": ")}"{value}"'


def curl_example(endpoint: InboundEndpoint, url: str, secret: str) -> str:
    """A shell snippet that sends a correctly signed request to this endpoint.

    Signatures are computed with openssl the way each sender documents them (see
    webhooks.inbound.verification), so running it proves the secret and scheme match.
    """
    event_type = sample_event_type(endpoint)
    lines = [f"URL={shlex.quote(url)}"]
    if endpoint.verification != "none":
        lines.append(f"SECRET={shlex.quote(secret)}")
    lines.append(f"BODY={shlex.quote(sample_body(endpoint, event_type))}")
    hex_hmac = "openssl dgst -sha256 -hmac \"$SECRET\" | sed 's/^.* //'"
    headers = []
    match endpoint.verification:
        case "hmac_sha256":
            lines.append(f"SIG=$(printf '%s' \"$BODY\" | {hex_hmac})")
            headers.append(_header(endpoint.signature_header, "$SIG", literal=False))
        case "github":
            lines.append(f"SIG=$(printf '%s' \"$BODY\" | {hex_hmac})")
            headers += [
                _header("X-GitHub-Event", event_type),
                _header("X-GitHub-Delivery", "curl-$(date +%s)", literal=False),
                _header("X-Hub-Signature-256", "sha256=$SIG", literal=False),
            ]
        case "shopify":
            lines.append(
                'SIG=$(printf \'%s\' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary'
                " | base64)"
            )
            headers += [
                _header("X-Shopify-Topic", event_type),
                _header("X-Shopify-Webhook-Id", "curl-$(date +%s)", literal=False),
                _header("X-Shopify-Hmac-Sha256", "$SIG", literal=False),
            ]
        case "stripe":
            lines += ["TS=$(date +%s)", f"SIG=$(printf '%s' \"$TS.$BODY\" | {hex_hmac})"]
            headers.append(_header("Stripe-Signature", "t=$TS,v1=$SIG", literal=False))
        case "standard_webhooks":
            # The key is the base64 part of the secret, decoded; openssl takes it as hex.
            lines += [
                "MSG_ID=msg_curl_$(date +%s)",
                "TS=$(date +%s)",
                "KEY=$(printf '%s' \"${SECRET#whsec_}\" | base64 -d | od -An -v -tx1"
                " | tr -d ' \\n')",
                "SIG=$(printf '%s' \"$MSG_ID.$TS.$BODY\" | openssl dgst -sha256 -mac HMAC"
                ' -macopt "hexkey:$KEY" -binary | base64)',
            ]
            headers += [
                _header("webhook-id", "$MSG_ID", literal=False),
                _header("webhook-timestamp", "$TS", literal=False),
                _header("webhook-signature", "v1,$SIG", literal=False),
            ]
    command = ['curl -s -X POST "$URL"', _header("Content-Type", "application/json")]
    command += headers
    command.append('--data-binary "$BODY"')
    lines.append(" \\\n     ".join(command))
    return "\n".join(lines)


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
    status = 200
    if request.method == "POST" and form.is_valid():
        serializer = InboundEndpointSerializer(
            data=form.serializer_data(), context={"request": request}
        )
        if serializer.is_valid():
            try:
                endpoint = endpoints.create_inbound_endpoint(
                    request.account, **serializer.validated_data
                )
            except ServiceError as exc:  # limit_reached
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, f"Created inbound endpoint {endpoint.name}.")
                return redirect("dashboard-inbound-endpoint", endpoint.pk)
        else:
            form.add_serializer_errors(serializer.errors)
    return render(request, "webhooks/inbound_form.html", {"form": form}, status=status)


@account_view()
def inbound_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    url = inbound_url(request, endpoint)
    # Members read everything but secrets; their example needs the secret filled in.
    show_secret = has_role(request.membership, Role.ADMIN)
    secret = endpoint.secret if show_secret else SECRET_PLACEHOLDER
    received = InboundEvent.objects.filter(endpoint=endpoint).defer("body", "headers", "traceback")
    context = {
        "endpoint": endpoint,
        "url": url,
        "curl": curl_example(endpoint, url, secret),
        "show_secret": show_secret,
        "page": paginate(request, received),
    }
    return render(request, "webhooks/inbound_detail.html", context)


@account_view()
def inbound_event(request: HttpRequest, endpoint_id: str, event_id: str) -> HttpResponse:
    event = get_object_or_404(
        InboundEvent.objects.select_related("endpoint"),
        pk=event_id,
        endpoint_id=endpoint_id,
        account=request.account,
    )
    context = {"event": event, "endpoint": event.endpoint, "body": pretty_body(event)}
    return render(request, "webhooks/inbound_event.html", context)


@account_view(Role.ADMIN)
@require_POST
def inbound_toggle(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    endpoint.enabled = request.POST.get("enabled") == "1"
    endpoint.save(update_fields=["enabled", "updated_at"])
    messages.success(request, f"{'Enabled' if endpoint.enabled else 'Disabled'} {endpoint.name}.")
    return redirect("dashboard-inbound")


@account_view(Role.ADMIN)
@require_POST
def inbound_delete(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    endpoint.delete()
    messages.success(request, f"Deleted inbound endpoint {endpoint.name}.")
    return redirect("dashboard-inbound")
