from datetime import date

from celery import shared_task

from accounts import quota_warnings


@shared_task(name=quota_warnings.QUOTA_WARNING_TASK)
def quota_warning(account_id: str, period_start: str, level: int, claim: bool = False) -> None:
    """Mail the account's owners and admins and tell the webhooks app that it reached
    `level` % of its quota in the period starting `period_start` (ISO date). `claim`: the
    send that found it could not mark the level warned (it was refused), so do it here."""
    quota_warnings.deliver(account_id, date.fromisoformat(period_start), level, claim_first=claim)
