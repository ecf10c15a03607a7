"""The one state machine for providers' status reports: what a report (sent, delivered,
read, failed) does to its delivery. Every provider's callbacks come here
(channels_app.callbacks.processing applies the stored ProviderReport rows).

Providers report out of order and more than once, so:
- statuses only move forward: sent < delivered < read. A late "sent" or "delivered" never
  takes a "read" back; a "failed" after delivered or read changes nothing either (the
  recipient has the message);
- a "failed" on a sent delivery fails it with the provider's code and cause, and its
  message's fallbacks start (channels_app.outcomes.settle_messages); a transient code
  (throttling, a queue overflow) with attempts left sends it again instead, on the
  deliveries' retry policy;
- every report is kept in the delivery's timeline, those that change nothing too (with
  why), and only changes are announced (webhook events);
- the same report twice is stored once: the unique (channel, dedup_key) constraint on
  ProviderReport, when the callback is received.
"""

from django.utils import timezone

from channels_app.delivery import DELIVERIES
from channels_app.integrations import callbacks as reported
from channels_app.integrations.callbacks import get_callback_provider
from channels_app.models import Delivery, Message, ProviderReport
from channels_app.outcomes import count_final, settle_messages
from channels_app.timeline import Change, note, record_many

Status = Delivery.Status

# The order successes reach the recipient; a report moves a delivery only forward on it.
RANK = {Status.SENT: 1, Status.DELIVERED: 2, Status.READ: 3}
# What a report may move: a delivery the provider has (sent, or further on).
REPORTABLE = frozenset(RANK)
SAVED_FIELDS = [
    "status",
    "last_error",
    "next_attempt_at",
    "enqueued_at",
    "fate_due_at",
    "updated_at",
]


def find_delivery(report: ProviderReport) -> Delivery | None:
    """The delivery the report is about, only among the deliveries of the account that
    owns the channel it arrived on (another account's token never reaches this one's)."""
    return (
        Delivery.objects.select_for_update()
        .filter(
            account_id=report.account_id,
            channel=report.channel.kind,
            provider_message_id=report.provider_message_id,
        )
        .order_by("pk")
        .first()
    )


def apply(report: ProviderReport) -> Delivery | None:
    """Apply the report to its delivery, in the caller's transaction; None when no delivery
    has its provider message id (yet: the send's answer may still be being recorded)."""
    delivery = find_delivery(report)
    if delivery is None:
        return None
    # Locked after the delivery, as the deliveries outbox takes them (no deadlock).
    message = Message.objects.select_for_update().get(pk=delivery.message_id)
    detail = describe(report)
    new = next_status(delivery.status, report.reported_status)
    if new is None:
        note(delivery, report.reported_status, f"{detail} (no change: it is {delivery.status})")
        return delivery
    now = timezone.now()
    delivery.updated_at = now
    delivery.fate_due_at = None
    delivery.next_attempt_at = None
    if new == Status.FAILED:
        delivery.last_error = (report.error_text or detail)[:2048]
        wait = DELIVERIES.retry_later(delivery, None, now) if _transient(report) else None
        if wait is None:
            delivery.status = Status.FAILED
        else:  # retry_later set "retrying", when and the countdown task
            detail = f"{detail}\nnext attempt in {wait:.1f} s"
    else:
        delivery.status = new
    delivery.save(update_fields=SAVED_FIELDS)
    record_many([Change(delivery, delivery.status, detail)], locked_messages={message.pk: message})
    if delivery.status != Status.RETRYING:
        settle_messages([message])
    count_final([(delivery.channel, delivery.status)])
    return delivery


def next_status(current: str, reported_status: str) -> str | None:
    """The delivery's status after the report, or None when the report changes nothing.

    A delivery that is not at the provider any more (failed, or being sent again after a
    transient failure) or not yet (queued, sending) keeps its status: the report is
    about an earlier send, or came too soon to matter."""
    if current not in REPORTABLE:
        return None
    if reported_status == reported.FAILED:
        # Delivered or read: the recipient has it, whatever a later failure says.
        return Status.FAILED if current == Status.SENT else None
    if RANK.get(reported_status, 0) > RANK[current]:
        return reported_status
    return None


def describe(report: ProviderReport) -> str:
    """The timeline's words for a report: who said what, and why it failed."""
    provider = get_callback_provider(report.provider)
    who = provider.title if provider else report.provider
    detail = f"{who} reported {report.provider_status}"
    if report.error_text:
        detail = f"{detail}: {report.error_text}"
    return detail


def _transient(report: ProviderReport) -> bool:
    """A failure whose code says retrying later can succeed (throttling, queue overflow)."""
    provider = get_callback_provider(report.provider)
    known = provider.lookup(report.error_code) if provider and report.error_code else None
    return known is not None and not known.permanent
