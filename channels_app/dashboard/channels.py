from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from accounts.permissions import Role, account_view
from channels_app.dashboard.channel_forms import FORMS, ChannelForm, TestSendForm
from channels_app.integrations import get_integration
from channels_app.models import ChannelConfig, Delivery
from channels_app.testsend import send_test_message
from oneping.api.errors import describe_validation_error
from oneping.crypto import mask
from oneping.errors import ServiceError


def _summary(channel: ChannelConfig | None) -> dict[str, str]:
    if channel is None:
        return {}
    secrets = get_integration(channel.kind).secret_fields
    return {k: mask(v) if k in secrets and v else v for k, v in channel.config.items()}


def _cards(request: HttpRequest, bound: ChannelForm | None = None) -> list[dict]:
    """One card per kind: its saved config (masked), its form, its test form."""
    configured = {c.kind: c for c in ChannelConfig.objects.filter(account=request.account)}
    cards = []
    for kind, form_class in FORMS.items():
        channel = configured.get(kind)
        form = bound if bound is not None and bound.kind == kind else None
        cards.append(
            {
                "form_class": form_class,
                "channel": channel,
                "summary": _summary(channel),
                "form": form or form_class(existing=channel.config if channel else None),
                "test_form": TestSendForm(prefix=f"test-{kind}"),
            }
        )
    return cards


@account_view()
def channel_list(request: HttpRequest) -> HttpResponse:
    return render(request, "channels_app/channels.html", {"cards": _cards(request)})


@account_view(Role.ADMIN)
@require_POST
def channel_save(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in FORMS:
        raise Http404("No such channel kind.")
    channel = ChannelConfig.objects.filter(account=request.account, kind=kind).first()
    form = FORMS[kind](request.POST, existing=channel.config if channel else None)
    if not form.is_valid():
        context = {"cards": _cards(request, bound=form)}
        return render(request, "channels_app/channels.html", context, status=400)
    ChannelConfig.objects.update_or_create(
        account=request.account, kind=kind, defaults={"config": form.cleaned_data["config"]}
    )
    messages.success(request, f"Saved the {form.title} channel.")
    return redirect("dashboard-channels")


@account_view(Role.ADMIN)
@require_POST
def channel_delete(request: HttpRequest, kind: str) -> HttpResponse:
    channel = get_object_or_404(ChannelConfig, account=request.account, kind=kind)
    channel.delete()
    messages.success(request, f"Removed the {kind} channel.")
    return redirect("dashboard-channels")


@account_view()  # members may send test messages
@require_POST
def channel_test(request: HttpRequest, kind: str) -> HttpResponse:
    channel = get_object_or_404(ChannelConfig, account=request.account, kind=kind)
    form = TestSendForm(request.POST, prefix=f"test-{kind}")
    form.is_valid()
    try:
        accepted = send_test_message(
            request.account, channel, form.cleaned_data.get("recipient") or ""
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
