"""The deliveries outbox: its declaration, what claiming a delivery records, and the
manual retry of a dead letter.

Runs in Celery workers (oneping/outbox/ has the steps). A task carries a message's first
wave (its requested channels) or one delivery (a retry, a fallback, a swept row); under a
backlog it also claims up to CLAIM_BATCH of the oldest queued deliveries, whose own tasks
then find them taken: many messages share one claim, one round of sends side by side
(channels_app.outbound) and one transaction of outcomes (channels_app.outcomes), instead of
paying each of those per message. With no backlog a task finds only its own rows.
"""

from django.db import transaction
from django.db.models import F, OuterRef, Subquery

from channels_app import outbound, retry, suppressions
from channels_app.models import ChannelConfig, Delivery, Message
from channels_app.outcomes import record_outcomes, set_status
from channels_app.pacing import gate
from channels_app.queueing import DELIVER_TASK, enqueue
from channels_app.timeline import Change, record_many
from oneping import logs
from oneping.errors import ServiceError
from oneping.outbox import Outbox

Status = Delivery.Status


def claim_query():
    """Deliveries with their message, their channel's config and callback token, and
    whether their account is live (a test environment's go to the simulator), in one
    SELECT."""
    channel = ChannelConfig.objects.filter(
        account_id=OuterRef("account_id"), kind=OuterRef("channel")
    )
    return Delivery.objects.select_related("message").annotate(
        channel_config=Subquery(channel.values("config")[:1]),
        channel_callback_token=Subquery(channel.values("callback_token")[:1]),
        channel_unpaced=Subquery(channel.values("unpaced")[:1]),
        account_livemode=F("account__livemode"),
    )


def _load(claimed: list[str]) -> list[Delivery]:
    """The claimed deliveries, with their pacing tokens taken, "sending" on the timelines
    of those that go (with a note when one overtakes a retrying one), their messages
    started and their addresses looked up on the suppression list, in the claim's
    transaction. One without a token is not sent (its outcome: gate.Paced)."""
    deliveries = list(claim_query().filter(pk__in=claimed))
    suppressions.attach(deliveries)
    gate.take_tokens(deliveries)
    messages = {delivery.message_id for delivery in deliveries}
    if len(messages) == 1:
        logs.bind(message_id=messages.pop())
    going = [delivery for delivery in deliveries if delivery.paced_wait is None]
    notes = gate.reordered(going)
    record_many([Change(d, Status.SENDING, notes.get(d.pk, "")) for d in going])
    starting = {d.message_id for d in going if d.message.status == Message.Status.QUEUED}
    if starting:
        Message.objects.filter(pk__in=starting, status=Message.Status.QUEUED).update(
            status=Message.Status.PROCESSING
        )
    return deliveries


DELIVERIES = Outbox(
    name="deliveries",
    model=Delivery,
    task_name=DELIVER_TASK,
    # The oldest first waves and fallbacks whose tasks are still queued (the sweep's too).
    waiting=Status.QUEUED,
    claimed=Status.SENDING,
    retrying=Status.RETRYING,
    lease_setting="ONEPING_DELIVERY_LEASE_SECONDS",
    policy=retry.policy,
    load=_load,
    act=outbound.outcome_of,
    record=record_outcomes,
    claim_filter=gate.claimable,
)

# The worker's entry points under the names tools, tests and the bench use.
BATCH = DELIVERIES.batch
attempt = DELIVERIES.attempt
attempt_many = DELIVERIES.attempt_many
sweep_outbox = DELIVERIES.sweep


def retry_failed(delivery: Delivery) -> Delivery:
    """Reprocess a dead letter: a fresh set of attempts for the same delivery."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status not in Delivery.ENDED_FAILED:
            raise ServiceError(
                "delivery_not_failed",
                f"Only failed deliveries can be retried; this one is {delivery.status}.",
                status=409,
                details={"status": delivery.status},
            )
        budget = retry.max_attempts(delivery.message.retry)
        delivery.max_attempts = delivery.attempts + budget
        delivery.next_attempt_at = None
        delivery.save(update_fields=["max_attempts", "next_attempt_at"])
        set_status(delivery, Status.QUEUED, "manual retry")
        Message.objects.filter(pk=delivery.message_id).update(status=Message.Status.PROCESSING)
        transaction.on_commit(lambda: enqueue([delivery.pk]))
    return delivery
