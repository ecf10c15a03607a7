from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

WORKER_PING_CACHE_KEY = "oneping:worker:last-ping"


@shared_task(name="oneping.ping")
def ping(token: str) -> str:
    """Round trip through the broker: proves a worker consumes what the web side enqueues."""
    cache.set(f"{WORKER_PING_CACHE_KEY}:{token}", timezone.now().isoformat(), timeout=600)
    return "pong"
