"""Applying stored provider reports to their deliveries: the reports outbox (runs in a
Celery worker; oneping/outbox/ has the worker's steps, channels_app.reports the rules).

A report whose delivery is not known yet — the provider called back before the send's
answer was recorded — is tried again on ONEPING_REPORT_RETRY_SCHEDULE, then becomes a dead
letter (reprocessed from the admin). Claiming, recording and the report's status happen in
one transaction per report, so a report is applied once however often its task runs.
"""

import logging
import traceback

from django.db import transaction
from django.utils import timezone

from channels_app import reports
from channels_app.callbacks.queueing import APPLY_REPORTS_TASK, enqueue
from channels_app.models import ProviderReport
from channels_app.tracking import counts
from oneping import logs
from oneping.outbox import Claim, Outbox
from oneping.retry import PolicySettings

logger = logging.getLogger(__name__)
Status = ProviderReport.Status

policy = PolicySettings(
    schedule="ONEPING_REPORT_RETRY_SCHEDULE", jitter="ONEPING_REPORT_RETRY_JITTER"
)
SAVED_FIELDS = [
    "status",
    "error",
    "delivery",
    "applied_at",
    "next_attempt_at",
    "enqueued_at",
    "lease_expires_at",
    "updated_at",
]


def _load(claimed: list[str]) -> list[ProviderReport]:
    rows = list(ProviderReport.objects.select_related("channel").filter(pk__in=claimed))
    for report in rows:  # one: reports are claimed one at a time
        logs.bind(account_id=report.account_id)
    return rows


def _act(report: ProviderReport) -> None:
    """Nothing to do outside the database: the report is applied where it is recorded,
    in the transaction that holds its claim."""
    return None


def _record(outcomes: list[tuple[ProviderReport, None]], claim: Claim) -> None:
    for report, outcome in outcomes:
        try:
            with transaction.atomic():
                if claim.still_ours([(report, outcome)]):
                    _apply(report, claim.outbox)
        except Exception as exc:
            logger.exception("provider report %s: applying it failed", report.pk)
            with transaction.atomic():
                if claim.still_ours([(report, outcome)]):
                    _finish(
                        report,
                        Status.FAILED,
                        f"Internal error: {exc!r}\n{traceback.format_exc()[-4000:]}",
                    )


def _apply(report: ProviderReport, outbox: Outbox) -> None:
    now = timezone.now()
    delivery = reports.apply(report)
    if delivery is not None:
        counts.count(delivery, report)
        report.delivery = delivery
        report.applied_at = now
        _finish(report, Status.APPLIED, "")
        return
    missing = f"No {report.channel.kind} delivery of this account has the provider message id"
    wait = outbox.retry_later(report, None, now)
    if wait is None:
        _finish(report, Status.FAILED, f"{missing} {report.provider_message_id!r}.")
        return
    report.error = f"{missing} {report.provider_message_id!r} yet; next try in {wait:.1f} s."
    report.lease_expires_at = None
    report.updated_at = now
    report.save(update_fields=SAVED_FIELDS)


def _finish(report: ProviderReport, status: str, error: str) -> None:
    report.status = status
    report.error = error[:4000]
    report.next_attempt_at = None
    report.lease_expires_at = None
    report.updated_at = timezone.now()
    report.save(update_fields=SAVED_FIELDS)


REPORTS = Outbox(
    name="provider reports",
    model=ProviderReport,
    task_name=APPLY_REPORTS_TASK,
    waiting=Status.PENDING,
    claimed=Status.APPLYING,
    retrying=Status.RETRYING,
    lease_setting="ONEPING_REPORT_LEASE_SECONDS",
    policy=policy,
    load=_load,
    act=_act,
    record=_record,
    # One at a time, in the task's own thread: applying writes to the database.
    batch=0,
)

sweep = REPORTS.sweep


def apply_now(report_id: str) -> None:
    """One report, as its task would. For tests and tools."""
    REPORTS.attempt_many([report_id])


def reprocess(rows: list[ProviderReport]) -> int:
    """Dead letters (failed reports) are applied again, with a fresh set of attempts."""
    ids = [row.pk for row in rows if row.status == Status.FAILED]
    with transaction.atomic():
        ProviderReport.objects.filter(pk__in=ids, status=Status.FAILED).update(
            status=Status.PENDING,
            error="",
            attempts=0,
            max_attempts=policy().max_attempts,
            next_attempt_at=None,
            enqueued_at=timezone.now(),
            updated_at=timezone.now(),
        )
        transaction.on_commit(lambda: enqueue(ids))
    return len(ids)
