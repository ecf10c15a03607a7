"""The ceiling of the worker tier: a Celery app whose task does nothing.

It reads the same CELERY_* settings as oneping (broker, acks_late, prefetch 1, JSON), and
uses its own queue so it never takes oneping's tasks. Two stamp tasks write the time to
Redis: the run enqueues stamp, N no-ops, stamp, then starts the worker, and divides.

    celery -A bench.noop_celery worker -Q bench-noop --concurrency=2
"""

import os
import time

import redis
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneping.settings")

QUEUE = "bench-noop"

app = Celery("bench_noop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = QUEUE


@app.task(name="bench.noop")
def noop() -> None:
    return None


@app.task(name="bench.stamp")
def stamp(key: str) -> None:
    client = redis.Redis.from_url(app.conf.broker_url)
    client.set(key, repr(time.time()), ex=3600)
    client.close()
