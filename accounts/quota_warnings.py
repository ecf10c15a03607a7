"""Warnings at 80 % and 100 % of a live account's monthly quota: one email to each owner
and admin, and an account.quota_warning event (the webhooks app hears of it through
accounts.signals.quota_warning), once per period and level.

Detection rides on the send's own counting UPDATE (accounts.quota), which returns the
period's `warned_percent` along with `used`: below 80 % a send pays nothing more. A send
that reaches a level not yet warned claims it with a conditional UPDATE on the same usage
row (`SET warned_percent = level WHERE warned_percent < level`): the row is already locked
by the send's transaction, so of any number of concurrent sends crossing the level exactly
one claims it, and the claim commits or rolls back with the send. The worker then mails
and tells the webhooks app (a task taking ids, enqueued on commit).

A refused send (at the quota) never commits, so it cannot claim in its transaction: it
enqueues a task that claims the level itself, in its own transaction. That is how a level
skipped by a jump (a plan downgraded mid-month, `used` already past the new limit) is still
warned, on the next send accepted or refused.

When `used` is past both levels at once, only the highest is warned: an "80 % used" mail
next to "100 % used" says nothing new. A plan upgrade mid-period does not reset the levels
already warned: once per period means once, even if the new limit puts the account back
under 80 %; it is warned at 100 % of the new limit. Test environments never warn: their
daily cap is a fixture of the test mode, not a quota anyone pays for.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Account, Membership, MonthlyUsage
from accounts.signals import quota_warning
from accounts.usage import billing_period, limit_for
from oneping.public_url import absolute_url

logger = logging.getLogger(__name__)

LEVELS = (80, 100)  # percent of the monthly quota
QUOTA_WARNING_TASK = "accounts.quota_warning"
# Who hears about the quota: the roles that can change the plan or the sending.
WARNED_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def level_reached(used: int, limit: int) -> int:
    """The highest warning level `used` has reached (0: below 80 %). Integer arithmetic:
    with a limit of 100 the 80th message is the one at 80 %."""
    if limit <= 0:
        return 0
    return max((level for level in LEVELS if used * 100 >= level * limit), default=0)


def after_counted(account: Account, period_start: date, used: int, limit: int, warned: int) -> None:
    """A live send was just counted (`used`, and `warned`: the level already warned for the
    period, both from the counting UPDATE). Inside the send's transaction."""
    level = level_reached(used, limit)
    if level <= warned:
        return  # the common case, below 80 % or already warned: no query
    if claim(account.pk, period_start, level):
        account_id = account.pk
        transaction.on_commit(lambda: enqueue(account_id, period_start, level))


def after_refused(account: Account, period_start: date, used: int, limit: int, warned: int) -> None:
    """A live send was refused at the quota. Its transaction will roll back, so the task
    claims the level (see the module's docstring)."""
    level = level_reached(used, limit)
    if level > warned:
        enqueue(account.pk, period_start, level, claim=True)


def claim(account_id: str, period_start: date, level: int) -> bool:
    """Mark `level` warned for the period; False when it (or a higher one) already is."""
    return bool(
        MonthlyUsage.objects.filter(
            account_id=account_id, period_start=period_start, warned_percent__lt=level
        ).update(warned_percent=level)
    )


def enqueue(account_id: str, period_start: date, level: int, *, claim: bool = False) -> None:
    """Hand the warning to a worker. A broker outage must not fail the send that crossed the
    level: the warning is then lost (logged), as mail would be on an SMTP outage."""
    from oneping.celery import app  # sent by name: services do not import task modules

    try:
        app.send_task(QUOTA_WARNING_TASK, args=[account_id, period_start.isoformat(), level, claim])
    except Exception:
        logger.warning(
            "broker unavailable; the %s %% quota warning of %s is lost", level, account_id
        )


@dataclass(frozen=True)
class QuotaWarning:
    account: Account
    used: int
    limit: int
    percent: int
    period_end: datetime


def deliver(account_id: str, period_start: date, level: int, *, claim_first: bool = False) -> None:
    """The worker's side: claim the level when the send could not, then tell the webhooks
    app and mail each owner and admin. The numbers are the period's as the worker reads
    them, which may be a few messages past the level."""
    if claim_first and not claim(account_id, period_start, level):
        return
    account = Account.objects.select_related("plan").filter(pk=account_id).first()
    row = MonthlyUsage.objects.filter(account_id=account_id, period_start=period_start).first()
    if account is None or row is None or not account.livemode:
        return
    start = datetime(period_start.year, period_start.month, period_start.day, tzinfo=UTC)
    warning = QuotaWarning(account, row.used, limit_for(account), level, billing_period(start)[1])
    quota_warning.send(
        sender=Account,
        account=account,
        used=warning.used,
        limit=warning.limit,
        percent=warning.percent,
        period_end=warning.period_end,
    )
    send_emails(warning)


def recipients(account: Account) -> list[str]:
    return list(
        Membership.objects.filter(account=account, role__in=WARNED_ROLES)
        .exclude(user__email="")
        .order_by("pk")
        .values_list("user__email", flat=True)
    )


def send_emails(warning: QuotaWarning) -> int:
    """One email to each owner and admin (each their own: addresses are not shared);
    a refused address does not keep the others from theirs. The number sent."""
    context = {
        "account_name": warning.account.name,
        "used": warning.used,
        "limit": warning.limit,
        "percent": warning.percent,
        "period_end": warning.period_end,
        "plan_name": warning.account.plan.display_name,
        # The dashboard's plan page (upgrade there); a relative path when no public URL
        # is configured, as a worker has no request to build one from.
        "plan_url": absolute_url(reverse("dashboard-plan")) or reverse("dashboard-plan"),
    }
    subject = " ".join(
        render_to_string("account/email/quota_warning_subject.txt", context).splitlines()
    ).strip()
    body = render_to_string("account/email/quota_warning_message.txt", context).strip()
    sent = 0
    for address in recipients(warning.account):
        mail = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        try:
            sent += mail.send()
        except (smtplib.SMTPException, OSError):
            logger.warning("quota warning to %s not sent", address, exc_info=True)
    return sent
