"""Dashboard: dead letters of every kind on one page, and reprocessing them.

Three kinds end up here: message deliveries (failed, bounced or complained), outgoing
webhook deliveries and inbound events. Each is reprocessed by its own service; this module
only picks the rows, always from the current account and only while they are still failed.
"""

from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Account
from accounts.permissions import Role, account_view
from channels_app.delivery import retry_failed
from channels_app.models import Delivery
from oneping.errors import ServiceError
from oneping.logorder import order_field, with_log_key
from webhooks.inbound import endpoints as inbound_endpoints
from webhooks.models import InboundEvent, WebhookDelivery
from webhooks.replay import resend

SHOWN = 50  # newest rows per section; "Reprocess all" is not limited to them
REPROCESS_AT_MOST = 1000  # rows per "Reprocess all" click, as the API's bulk reprocess
DEAD_LETTER_KINDS = ("deliveries", "webhooks", "inbound")


def failed_rows(account: Account, kind: str) -> QuerySet:
    """The failed rows of one kind, newest first, with what the page shows joined in."""
    if kind == "deliveries":
        # Every way a delivery ends failed (bounced and complained too); retry_failed
        # accepts each of them.
        failed = Delivery.objects.filter(account=account, status__in=Delivery.ENDED_FAILED)
        return with_log_key(failed).defer("target")
    if kind == "webhooks":
        return (
            WebhookDelivery.objects.filter(account=account, status=WebhookDelivery.Status.FAILED)
            .select_related("event", "endpoint")
            .defer("event__body")
        )
    failed = InboundEvent.objects.filter(account=account, status=InboundEvent.Status.FAILED)
    return with_log_key(failed).select_related("endpoint").defer("body", "headers", "traceback")


def reprocess(account: Account, kind: str, ids: list[str] | None) -> int:
    """Queue failed rows of `kind` again (all of them when `ids` is None); returns how many.

    Rows of another account, or no longer failed, are skipped rather than refused: the
    page may be stale by the time the button is pressed.
    """
    rows = failed_rows(account, kind).order_by("pk")
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    rows = list(rows[:REPROCESS_AT_MOST])
    if kind == "deliveries":
        return sum(_retry_delivery(delivery) for delivery in rows)
    if kind == "webhooks":
        with transaction.atomic():
            return resend(rows)
    return inbound_endpoints.reprocess(rows)


def _retry_delivery(delivery: Delivery) -> int:
    try:
        retry_failed(delivery)
    except ServiceError:
        return 0  # retried or finished meanwhile
    return 1


def _section(account: Account, kind: str) -> dict:
    failed = failed_rows(account, kind)
    rows = list(failed.order_by(f"-{order_field(failed)}")[: SHOWN + 1])
    return {"kind": kind, "rows": rows[:SHOWN], "more": len(rows) > SHOWN}


@account_view()
def failed_list(request: HttpRequest) -> HttpResponse:
    sections = {kind: _section(request.account, kind) for kind in DEAD_LETTER_KINDS}
    return render(request, "webhooks/failed.html", {"sections": sections, "shown": SHOWN})


@account_view(Role.ADMIN)
@require_POST
def failed_reprocess(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind")
    if kind not in DEAD_LETTER_KINDS:
        raise Http404("No such kind of dead letter.")
    if request.POST.get("one"):
        ids = [request.POST["one"]]
    elif request.POST.get("action") == "all":
        ids = None
    else:
        ids = request.POST.getlist("ids")
    if ids == []:
        messages.error(request, "Select the rows to reprocess first.")
        return redirect("dashboard-failed")
    queued = reprocess(request.account, kind, ids)
    if queued:
        messages.success(request, f"Queued {queued} for reprocessing.")
    else:
        messages.warning(request, "Nothing was queued: those rows are no longer failed.")
    return redirect("dashboard-failed")
