"""The one state machine for providers' reports on a delivery's fate: what a report (sent,
delivered, read, opened, clicked, deferred, failed, bounced, complained) does to its
delivery. Every provider's reports come here (channels_app.callbacks.processing applies the
stored ProviderReport rows); the README's "Provider status callbacks" has the same table.

Providers report out of order and more than once, so a report only ever moves a delivery
forward on one order, PRECEDENCE:

    sent < delivered < opened = read < clicked < failed < bounced < complained

- successes rank in the order they reach the recipient: a late "delivered" never takes an
  "opened" back, and a click without an open (images blocked) moves past it;
- failures rank after every success, because they can follow any of them (an email bounces
  after the receiving server accepted it, a recipient complains after opening, a phone
  provider fails a message it said was delivered) and no late success report undoes one;
- between failures, the one that says more about the address wins: a bounce names the
  address bad, a complaint is the recipient's own "no more" (the strongest reason to stop
  writing, which a suppression list needs). So a complaint after a bounce moves the
  delivery to complained; a "failed" after a bounce, or a bounce after a complaint, does not;
- "deferred" (the provider is still trying) is on no rank: a timeline entry only;
- a delivery not at the provider (standby, queued, sending, retrying, skipped) keeps its
  status: the report is about an earlier send, or came too soon to matter. A manual retry
  of a dead letter (channels_app.delivery.retry_failed) is not a report: it starts a new
  attempt, and reports about the earlier send change nothing while it runs.

What a change does:
- a failure names the provider's code and cause in last_error, and the message's status is
  derived again (a failure after success can turn "delivered" into "failed" or
  "partially_failed"); fallbacks still on standby start (channels_app.outcomes
  .settle_messages), fallbacks already skipped stay skipped. A transient code (throttling,
  a queue overflow) on a delivery still only "sent", with attempts left, sends it again on
  the deliveries' retry policy instead; after delivered the recipient has it, and sending
  again would repeat it;
- every report is kept in the delivery's timeline, those that change nothing too (with
  why), and only changes are announced (webhook events message.<status>);
- the same report twice is stored once: the unique (channel, dedup_key) constraint on
  ProviderReport, when the callback is received.
"""

from django.utils import timezone

from channels_app import rollup, suppressions
from channels_app.delivery import DELIVERIES
from channels_app.integrations.callbacks import get_callback_provider
from channels_app.models import Delivery, Message, ProviderReport
from channels_app.outcomes import count_final, settle_messages
from channels_app.timeline import Change, note, record_many

Status = Delivery.Status

# The precedence table (module docstring): a report moves a delivery only to a status of a
# higher rank. Only deliveries on it move (the provider has them), only to statuses on it.
PRECEDENCE: dict[str, int] = {
    Status.SENT: 1,
    Status.DELIVERED: 2,
    # A chat app's read receipt and an email's open say the same: the recipient saw it.
    Status.READ: 3,
    Status.OPENED: 3,
    Status.CLICKED: 4,
    Status.FAILED: 5,
    Status.BOUNCED: 6,
    Status.COMPLAINED: 7,
}
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
    was = delivery.status
    new = next_status(was, report.reported_status)
    if new is None:
        # Kept under the reported status (a late "delivered"); "deferred" is no status, so
        # under the delivery's own, the detail naming what the provider said.
        shown = report.reported_status if report.reported_status in PRECEDENCE else was
        note(delivery, shown, f"{detail} (no change: it is {was})")
        return delivery
    now = timezone.now()
    delivery.updated_at = now
    delivery.fate_due_at = None
    delivery.next_attempt_at = None
    delivery.status = new
    if new in Delivery.ENDED_FAILED:
        delivery.last_error = (report.error_text or detail)[:2048]
        if new == Status.FAILED and was == Status.SENT and _transient(report):
            # retry_later sets "retrying", when, and the countdown task (None: no attempts
            # left, so it stays failed).
            wait = DELIVERIES.retry_later(delivery, None, now)
            if wait is not None:
                detail = f"{detail}\nnext attempt in {wait:.1f} s"
    delivery.save(update_fields=SAVED_FIELDS)
    suppressions.record_report(report, delivery, detail)
    # The rollup's counts of the report and of the fallbacks it starts or skips: one write.
    with rollup.together():
        record_many(
            [Change(delivery, delivery.status, detail)], locked_messages={message.pk: message}
        )
        if delivery.status != Status.RETRYING:
            settle_messages([message])
    count_final([(delivery.channel, delivery.status)])
    return delivery


def next_status(current: str, reported_status: str) -> str | None:
    """The delivery's status after the report, or None when the report changes nothing:
    the reported status must outrank the delivery's on PRECEDENCE."""
    if current not in PRECEDENCE or reported_status not in PRECEDENCE:
        return None
    if PRECEDENCE[reported_status] > PRECEDENCE[current]:
        return reported_status
    return None


def describe(report: ProviderReport) -> str:
    """The timeline's words for a report: who said what, and why it failed."""
    provider = get_callback_provider(report.provider)
    who = provider.title if provider else report.provider
    detail = f"{who} reported {report.provider_status}"
    if report.reported_status == ProviderReport.Reported.CLICKED:
        # Which link was clicked (an email's tracking events name it).
        url = report.payload.get("click_url") if isinstance(report.payload, dict) else None
        return f"{detail}: {url}" if url else detail
    if report.reported_status == ProviderReport.Reported.BOUNCED and report.bounce_type:
        # A hard bounce names the address bad (it joins the suppression list), a soft one
        # may pass later: the kind first, then the provider's own words.
        detail = f"{detail} ({report.bounce_type} bounce)"
    if report.error_text:
        detail = f"{detail}: {report.error_text}"
    return detail


def _transient(report: ProviderReport) -> bool:
    """A failure whose code says retrying later can succeed (throttling, queue overflow)."""
    provider = get_callback_provider(report.provider)
    known = provider.lookup(report.error_code) if provider and report.error_code else None
    return known is not None and not known.permanent
