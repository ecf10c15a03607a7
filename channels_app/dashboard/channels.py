"""The channel page: one card per kind. Saving goes through the API's serializer and
channels_app.channels (oneping.apiforms), so its errors are the API's."""

from functools import partial

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from accounts.permissions import Role, account_view
from channels_app import channels
from channels_app.dashboard.channel_forms import ChannelForm, TestSendForm, channel_forms
from channels_app.integrations import get_integration
from channels_app.integrations.callbacks import get_callback_provider
from channels_app.models import ChannelConfig, Delivery
from channels_app.pacing import shown as pacing_shown
from channels_app.serializers import ChannelConfigSerializer, ChannelTestSerializer
from oneping.api.errors import describe_validation_error
from oneping.errors import ServiceError


def _cards(request: HttpRequest, bound: ChannelForm | None = None) -> list[dict]:
    """One card per kind: its saved config (masked), its form, its test form."""
    configured = {c.kind: c for c in ChannelConfig.objects.filter(account=request.account)}
    # As the API's channel answer shows it (ChannelConfigSerializer.pacing): one query
    # for every card's waiting deliveries.
    pacing = pacing_shown.pacing_states(list(configured.values()))
    cards = []
    for kind, form_class in channel_forms().items():
        channel = configured.get(kind)
        form = bound if bound is not None and bound.kind == kind else None
        cards.append(
            {
                "form_class": form_class,
                "channel": channel,
                "summary": (
                    get_integration(kind).summary(channels.shown_config(channel)) if channel else {}
                ),
                "form": form or form_class(existing=channel.config if channel else None),
                "test_form": TestSendForm(kind=kind),
                "callback": status_callback(request, channel) if channel else None,
                "pacing": pacing.get(channel.pk) if channel else None,
                "rates": [
                    f"{rate_label(rate['per_second'])} per {rate['scope']}"
                    for rate in (pacing.get(channel.pk, {}).get("rates", []) if channel else [])
                ],
            }
        )
    return cards


def rate_label(per_second: float) -> str:
    """A rate as providers publish it: "1/s", "0.5/s", "20/min" (Telegram's groups),
    "10/min" (WhatsApp's one every 6 s)."""
    if per_second >= 1 or round(per_second * 10, 6).is_integer():
        return f"{per_second:g}/s"
    return f"{round(per_second * 60, 1):g}/min"


def status_callback(request: HttpRequest, channel: ChannelConfig) -> dict | None:
    """What the channel page says about the provider's status reports: the URL (to paste
    into the provider's console, or that each send names), or why there is none."""
    name = get_integration(channel.kind).status_callback_provider(channel.config)
    provider = get_callback_provider(name) if name else None
    if provider is None:
        return None
    public = bool(settings.ONEPING_PUBLIC_URL)
    # A worker has no request to take the host from: without ONEPING_PUBLIC_URL, sends
    # name no callback URL (integrations.base.status_callback_url).
    told = provider.told_with_each_send
    url = channels.status_callback_url(channel, request)
    tracking = channel.kind == "email"
    if tracking:
        # An email provider's tracking webhook URL may carry the channel's credentials
        # (Postmark's basic auth): owners and admins only, as the API shows it.
        shown = channels.may_see_secrets(request)
        url = channels.tracking_webhook_url(channel, request) if shown else None
    return {
        "provider": provider,
        "url": url,
        "tracking": tracking,
        "hidden": tracking and url is None,
        "public_url_set": public,
        "missing": told and not public,
    }


@account_view()
def channel_list(request: HttpRequest) -> HttpResponse:
    return render(request, "channels_app/channels.html", {"cards": _cards(request)})


@account_view(Role.ADMIN)
@require_POST
def channel_save(request: HttpRequest, kind: str) -> HttpResponse:
    form_classes = channel_forms()
    if kind not in form_classes:
        raise Http404("No such channel kind.")
    channel = ChannelConfig.objects.filter(account=request.account, kind=kind).first()
    form = form_classes[kind](request.POST, existing=channel.config if channel else None)
    if channel is None:
        act = partial(channels.create_channel, request.account)
    else:
        act = partial(channels.update_channel, channel)
    saved = form.submit(ChannelConfigSerializer, channel, context={"request": request}, act=act)
    if saved is None:
        context = {"cards": _cards(request, bound=form)}
        return render(request, "channels_app/channels.html", context, status=400)
    messages.success(request, f"Saved the {form.title} channel.")
    return redirect("dashboard-channels")


@account_view(Role.ADMIN)
@require_POST
def channel_delete(request: HttpRequest, kind: str) -> HttpResponse:
    channel = get_object_or_404(ChannelConfig, account=request.account, kind=kind)
    channels.delete_channel(channel)
    messages.success(request, f"Removed the {kind} channel.")
    return redirect("dashboard-channels")


@account_view()  # members may send test messages
@require_POST
def channel_test(request: HttpRequest, kind: str) -> HttpResponse:
    channel = get_object_or_404(ChannelConfig, account=request.account, kind=kind)
    form = TestSendForm(request.POST, kind=kind)
    form.is_valid()  # parses only
    try:
        params = ChannelTestSerializer(data=form.payload())
        params.is_valid(raise_exception=True)  # as the API's test action
        accepted = channels.send_test(
            request.account, channel, params.validated_data.get("recipient") or ""
        )
    except ServiceError as exc:
        messages.error(request, f"Test not sent: {exc.message}")
        return redirect("dashboard-channels")
    except ValidationError as exc:
        messages.error(request, f"Test not sent: {describe_validation_error(exc)[1]}")
        return redirect("dashboard-channels")
    return redirect(
        "dashboard-channel-test-result", delivery_id=accepted.body["deliveries"][0]["id"]
    )


@account_view()
def channel_test_result(request: HttpRequest, delivery_id: str) -> HttpResponse:
    """The test's outcome with the provider's answer; refreshes itself until final."""
    delivery = get_object_or_404(
        Delivery.objects.prefetch_related("timeline"), pk=delivery_id, account=request.account
    )
    context = {
        "delivery": delivery,
        "final": delivery.status in Delivery.FINAL,
        "answer": delivery.steps[-1].detail,
    }
    template = "channels_app/_test_result.html" if request.htmx else "channels_app/test_result.html"
    return render(request, template, context)
