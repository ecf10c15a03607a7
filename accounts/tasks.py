from celery import shared_task

from accounts.billing import processing
from accounts.billing.client import BillingUnavailable
from accounts.billing.receiving import PROCESS_STRIPE_EVENT_TASK

# Stripe out of reach while re-reading a subscription: try again a few times, further
# apart; the event stays stored with its error for the admin's "reprocess" after that.
RETRY_BACKOFF_SECONDS = 30
MAX_RETRIES = 5


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
