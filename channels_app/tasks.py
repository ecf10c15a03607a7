from celery import shared_task

from channels_app import fates
from channels_app.callbacks.processing import REPORTS
from channels_app.callbacks.queueing import APPLY_REPORTS_TASK
from channels_app.delivery import DELIVERIES
from channels_app.integrations.simulator import reports as simulator_reports
from channels_app.integrations.simulator.transport import SIMULATE_REPORTS_TASK
from channels_app.pacing import store as pacing_store
from channels_app.queueing import DELIVER_TASK


@shared_task(name=DELIVER_TASK)
def deliver(ids: list[str], retry_of: int | None = None) -> None:
    """Deliveries by id: a message's first wave (channels_app.queueing), or one delivery
    (a retry, a fallback, a swept row); under a backlog the worker claims a batch of other
    queued deliveries with them. `retry_of`: set on a retry's countdown task
    (oneping.queueing.SCHEDULED_EARLY). A bare id, as tasks carried before, still works."""
    DELIVERIES.run_task(ids, retry_of)


@shared_task(name="channels_app.sweep_outbox")
def sweep_outbox() -> int:
    return DELIVERIES.sweep()


@shared_task(name=APPLY_REPORTS_TASK)
def apply_reports(ids: list[str], retry_of: int | None = None) -> None:
    """Provider status reports by id, each claimed and applied on its own; `retry_of`: set
    on the countdown task of a report whose delivery was not known yet."""
    REPORTS.run_task(ids, retry_of)


@shared_task(name="channels_app.sweep_reports")
def sweep_reports() -> int:
    return REPORTS.sweep()


@shared_task(name="channels_app.settle_overdue")
def settle_overdue() -> int:
    """Deliveries whose provider reported nothing within ONEPING_FALLBACK_WAIT_SECONDS."""
    return fates.settle_overdue()


@shared_task(name="channels_app.forget_idle_pace_buckets")
def forget_idle_pace_buckets() -> int:
    """Rows of pacing buckets idle (full, unpaused) for an hour: a missing row is a full
    bucket, so nothing changes but the table's size. Nothing to do on the Redis store."""
    return pacing_store.forget_idle()


@shared_task(name=SIMULATE_REPORTS_TASK)
def simulate_reports(ids: list[str], provider_message_id: str, steps: list[str]) -> None:
    """Test mode: what the provider would report about the deliveries' send, stored as
    its callback would be (channels_app.integrations.simulator.reports)."""
    simulator_reports.report(ids, provider_message_id, steps)
