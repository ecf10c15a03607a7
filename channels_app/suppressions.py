"""The suppression list: addresses an account no longer sends to on one kind of channel,
and the one service that adds, finds and lifts them (called by the API, the dashboard, the
admin and the workers).

An address joins when its provider says writing to it again is pointless or unwanted:
- a hard bounce (the mailbox does not exist; a soft bounce, a full mailbox, does not count),
  from a provider's report (channels_app.reports calls record_report);
- a complaint (the recipient marked a message as spam);
- an opt-out: a provider error code its table marks so (ProviderCodes' `opt_out`, Twilio's
  21610 after a STOP reply), in a send's answer (record_opt_outs, from the deliveries'
  outcomes) or in a status report.

A delivery to a suppressed address is not attempted: the deliveries outbox looks its claim
batch up in one query (attach), and the send fails at once, permanently, naming when and
why the address was suppressed (outbound._send), so the message's fallbacks start. Lifting
(deleting) the row lets the next send through. Per kind: a bounced mailbox says nothing
about an SMS to its owner's phone.
"""

import logging

from django.db.models import QuerySet

from accounts.models import Account
from channels_app.integrations import get_integration
from channels_app.integrations.base import TransportError
from channels_app.integrations.callbacks import get_callback_provider
from channels_app.integrations.phone import InvalidNumber, e164, looks_like_a_number
from channels_app.models import Delivery, ProviderReport, Suppression

logger = logging.getLogger(__name__)
Reason = Suppression.Reason
Reported = ProviderReport.Reported

DESCRIPTION_LIMIT = 500
# How a refusal names each reason ("a@b.c hard-bounced on …").
VERBS = {
    Reason.HARD_BOUNCE: "hard-bounced",
    Reason.COMPLAINT: "complained (marked a message as spam)",
    Reason.OPT_OUT: "opted out",
}


def suppressible(kind: str) -> bool:
    """Whether the kind's providers report bounces, complaints or opt-outs: only its
    deliveries are looked up (a batch of chat messages costs no query)."""
    return get_integration(kind).suppressible


def normalize(kind: str, address: str) -> str:
    """The address as the list stores and compares it (an email without case; a phone
    number in E.164, as on deliveries): Integration.suppression_address."""
    return get_integration(kind).suppression_address(address)


def normalize_query(address: str) -> str:
    """An address typed into a filter, of any kind: an email lower-cased, a phone number in
    E.164 when it is one (so "+1 415 555 0199" finds +14155550199), else as given."""
    text = address.strip()
    if "@" in text:
        return text.lower()
    if looks_like_a_number(text):
        try:
            return e164(text)
        except InvalidNumber:
            pass
    return text


def for_account(account: Account) -> QuerySet:
    return Suppression.objects.filter(account=account)


def lookup(account: Account, kind: str, address: str) -> Suppression | None:
    """The suppression of this address on this kind of channel, if any."""
    return for_account(account).filter(channel=kind, address=normalize(kind, address)).first()


def is_suppressed(account: Account, kind: str, address: str) -> bool:
    return lookup(account, kind, address) is not None


def lift(suppression: Suppression) -> None:
    """Take the address off the list: the next delivery to it is sent."""
    suppression.delete()
    logger.info(
        "suppression %s lifted (%s, %s)", suppression.pk, suppression.channel, suppression.reason
    )


def _add(rows: list[Suppression]) -> None:
    """Insert, keeping an address already on the list as it is (the first reason stands,
    and two workers adding one address at once do not fail each other's transaction)."""
    if rows:
        Suppression.objects.bulk_create(rows, ignore_conflicts=True)


def _row(delivery: Delivery, reason: str, description: str) -> Suppression | None:
    if not suppressible(delivery.channel) or not delivery.target:
        return None
    return Suppression(
        account_id=delivery.account_id,
        channel=delivery.channel,
        address=normalize(delivery.channel, delivery.target)[:255],
        reason=reason,
        description=description[:DESCRIPTION_LIMIT],
        delivery=delivery,
    )


def reason_reported(report: ProviderReport) -> str | None:
    """Why a report suppresses its address, or None: a hard bounce, a complaint, or a
    failure whose code its provider's table marks as an opt-out."""
    if report.reported_status == Reported.COMPLAINED:
        return Reason.COMPLAINT
    if report.reported_status == Reported.BOUNCED and report.bounce_type == "hard":
        return Reason.HARD_BOUNCE
    if report.reported_status == Reported.FAILED and report.error_code:
        provider = get_callback_provider(report.provider)
        known = provider.lookup(report.error_code) if provider else None
        if known is not None and known.opt_out:
            return Reason.OPT_OUT
    return None


def record_report(report: ProviderReport, delivery: Delivery, detail: str) -> None:
    """After a report changed its delivery (channels_app.reports.apply, in its
    transaction): suppress the address if the report says so. `detail`: the report in the
    timeline's words, kept when the provider gave no error text."""
    reason = reason_reported(report)
    row = _row(delivery, reason, report.error_text or detail) if reason else None
    if row is not None:
        _add([row])


def record_opt_outs(outcomes: list[tuple[Delivery, object]]) -> None:
    """After a group of send answers (channels_app.outcomes, in its transaction): suppress
    the addresses whose provider refused the message because the recipient opted out."""
    rows = [
        _row(delivery, Reason.OPT_OUT, outcome.message)
        for delivery, outcome in outcomes
        if isinstance(outcome, TransportError) and outcome.opt_out
    ]
    _add([row for row in rows if row is not None])


def attach(deliveries: list[Delivery]) -> None:
    """Set each delivery's `suppression` (the row, or None) for outbound._send: one query
    for a whole claim batch, none when no delivery is of a kind that can be suppressed."""
    keys = {}
    for delivery in deliveries:
        delivery.suppression = None
        if suppressible(delivery.channel) and delivery.target:
            address = normalize(delivery.channel, delivery.target)
            keys[delivery.pk] = (delivery.account_id, delivery.channel, address)
    if not keys:
        return
    found = {
        (row.account_id, row.channel, row.address): row
        for row in Suppression.objects.filter(
            account_id__in={key[0] for key in keys.values()},
            channel__in={key[1] for key in keys.values()},
            address__in={key[2] for key in keys.values()},
        )
    }
    for delivery in deliveries:
        if delivery.pk in keys:
            delivery.suppression = found.get(keys[delivery.pk])


def refusal(suppression: Suppression) -> TransportError:
    """The permanent failure of a delivery to a suppressed address: when and why, and how
    to lift it."""
    verb = VERBS.get(suppression.reason, suppression.reason)
    why = [suppression.description] if suppression.description else []
    if suppression.delivery_id:
        why.append(f"delivery {suppression.delivery_id}")
    because = f" ({'; '.join(why)})" if why else ""
    return TransportError(
        f"suppressed: {suppression.address} {verb} on "
        f"{suppression.created_at:%Y-%m-%d %H:%M} UTC{because}; lift it with "
        f"DELETE /api/v1/suppressions/{suppression.pk}",
        permanent=True,
    )
