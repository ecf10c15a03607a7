"""Handing deliveries to the workers.

Tasks are sent by name so services need not import the task module. A broker outage loses
nothing: the delivery rows stay queued and the outbox sweep enqueues them again.
"""

import logging

from oneping.celery import app

logger = logging.getLogger(__name__)

DELIVER_TASK = "channels_app.deliver"


def enqueue(delivery_ids: list[str], countdown: float | None = None) -> None:
    for delivery_id in delivery_ids:
        try:
            app.send_task(DELIVER_TASK, args=[delivery_id], countdown=countdown)
        except Exception:
            logger.warning("broker unavailable; %s is left to the outbox sweep", delivery_id)
            return
