import uuid

import pytest
from django.conf import settings
from django.core.cache import cache

from oneping.celery import app
from oneping.tasks import WORKER_PING_CACHE_KEY, ping
from tests.conftest import wait_until


@pytest.mark.worker
def test_a_task_sent_through_the_broker_is_run_by_a_real_worker(celery_worker):
    # Given the app is not in eager mode: tasks travel through the configured broker
    assert app.conf.task_always_eager is False
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    token = uuid.uuid4().hex

    # When a task is enqueued
    ping.delay(token)

    # Then the worker consumes it and its effect becomes visible
    assert wait_until(lambda: cache.get(f"{WORKER_PING_CACHE_KEY}:{token}"))
