"""The simulator's reports task: a short while after a send (its countdown,
ONEPING_SIMULATOR_REPORT_DELAY_SECONDS), what the provider would report about it is
stored as a provider's callback is (channels_app.callbacks.receiving.store), and the
reports worker applies it on the one state machine (channels_app.reports).

One report a run, the next one scheduled the same delay later: a provider reports
"delivered" before "opened", and applying them in that order gives each its own change,
timeline entry and webhook event.
"""

import logging

from django.conf import settings

from channels_app.callbacks.receiving import store
from channels_app.integrations.callbacks import get_callback_provider
from channels_app.integrations.simulator.callbacks import PROVIDER, STEPS, parsed
from channels_app.integrations.simulator.transport import schedule
from channels_app.models import ChannelConfig, Delivery

logger = logging.getLogger(__name__)


def report(delivery_ids: list[str], provider_message_id: str, steps: list[str]) -> None:
    """Store the first of `steps` about the deliveries' send `provider_message_id`, then
    schedule the rest. A delivery or channel gone since (deleted with its account or its
    channel) gets no report; neither does an unknown step (a task from another version)."""
    if not steps:
        return
    step, rest = steps[0], steps[1:]
    for delivery in Delivery.objects.filter(pk__in=delivery_ids).only("account_id", "channel"):
        channel = ChannelConfig.objects.filter(
            account_id=delivery.account_id, kind=delivery.channel
        ).first()
        if channel is None or step not in STEPS:
            logger.info("simulated report %s of %s dropped", step, delivery.pk)
            continue
        store(channel, get_callback_provider(PROVIDER), [parsed(provider_message_id, step)])
        if rest:
            delay = settings.ONEPING_SIMULATOR_REPORT_DELAY_SECONDS
            schedule(delivery.pk, provider_message_id, rest, delay)
