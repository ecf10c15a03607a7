from datetime import date

from celery import shared_task

from accounts import quota_warnings
from accounts.billing import processing
from accounts.billing.client import BillingUnavailable
from accounts.billing.receiving import PROCESS_STRIPE_EVENT_TASK

# Stripe out of reach while re-reading a subscription: try again a few times, further
# apart; the event stays stored with its error for the admin's "reprocess" after that.
RETRY_BACKOFF_SECONDS = 30
MAX_RETRIES = 5


@shared_task(name=quota_warnings.QUOTA_WARNING_TASK)
def quota_warning(account_id: str, period_start: str, level: int, claim: bool = False) -> None:
    """Mail the account's owners and admins and tell the webhooks app that it reached
    `level` % of its quota in the period starting `period_start` (ISO date). `claim`: the
    send that found it could not mark the level warned (it was refused), so do it here."""
    quota_warnings.deliver(account_id, date.fromisoformat(period_start), level, claim_first=claim)


@shared_task(
    name=PROCESS_STRIPE_EVENT_TASK,
    autoretry_for=(BillingUnavailable,),
    retry_backoff=RETRY_BACKOFF_SECONDS,
    max_retries=MAX_RETRIES,
)
def process_stripe_event(event_ids: list[str]) -> None:
    for event_id in event_ids:
        processing.process(int(event_id))


@shared_task(name="accounts.sweep_stripe_events")
def sweep_stripe_events() -> int:
    return processing.sweep()
