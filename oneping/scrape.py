"""GET /metrics: every process's counters of this host, and gauges measured right now.

The counters come from the processes' files (oneping/instruments.py). The gauges are read
at scrape time, from the broker and the database, so they need no process to keep them:
how many tasks wait in each queue, and how long the oldest row of each outbox table has
been due. A due row that ages while the queues grow is the early sign that workers are too
few (or dead) — before any customer notices that messages are late.

The queries are bounded: per outbox table, a few `ORDER BY … LIMIT 1` on the (status,
enqueued_at) index each sweep uses, and one length per queue.
"""

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from oneping import instruments  # noqa: F401 (the metrics exist before the first scrape)
from oneping.api.errors import documented_error
from oneping.celery import app as celery_app

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outbox:
    """An outbox table, as its app registers it: which statuses mean "a worker should be
    on this" and since when."""

    name: str
    model: type[Model]
    waiting: tuple[str, ...]  # due since enqueued_at (or created, if never enqueued)
    retrying: str | None = None  # due since next_attempt_at
    claimed: str | None = None  # due again since its lease ran out (its worker died)
    created_field: str = "created_at"


OUTBOXES: dict[str, Outbox] = {}


def register_outbox(outbox: Outbox) -> None:
    """Called by each app's ready(): oneping never imports the apps' models."""
    OUTBOXES[outbox.name] = outbox


def _oldest(rows, field: str) -> datetime | None:
    return rows.order_by(field).values_list(field, flat=True).first()


def oldest_due(outbox: Outbox, now: datetime) -> datetime | None:
    """Since when the longest-waiting due row of `outbox` has been due (None: none is)."""
    objects = outbox.model.objects
    candidates = [
        _oldest(
            objects.filter(status__in=outbox.waiting, enqueued_at__isnull=False), "enqueued_at"
        ),
        # Accepted while the broker was down, or a fallback started by the sweep: rare.
        _oldest(
            objects.filter(status__in=outbox.waiting, enqueued_at__isnull=True),
            outbox.created_field,
        ),
    ]
    if outbox.retrying:
        # A retry enqueued as a countdown has enqueued_at = next_attempt_at (queueing.py);
        # one too far ahead waits for the sweep with enqueued_at unset.
        candidates.append(
            _oldest(objects.filter(status=outbox.retrying, enqueued_at__lte=now), "enqueued_at")
        )
        candidates.append(
            _oldest(
                objects.filter(
                    status=outbox.retrying, enqueued_at__isnull=True, next_attempt_at__lte=now
                ),
                "next_attempt_at",
            )
        )
    if outbox.claimed:
        candidates.append(
            _oldest(
                objects.filter(status=outbox.claimed, lease_expires_at__lt=now),
                "lease_expires_at",
            )
        )
    due = [moment for moment in candidates if moment is not None and moment <= now]
    return min(due, default=None)


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue (not those a worker holds)."""
    depths = {}
    with celery_app.connection_for_read() as connection:
        # As the health check: a broker outage costs the scrape seconds, not a hang.
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
        for queue in settings.CELERY_TASK_QUEUES:
            with connection.channel() as channel:
                try:
                    declared = channel.queue_declare(queue=queue, passive=True)
                except connection.channel_errors:
                    depths[queue] = 0  # never used yet (Redis also drops emptied lists)
                else:
                    depths[queue] = declared.message_count
    return depths


class ScrapeTimeCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "oneping_queue_depth", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        try:
            for queue, count in queue_depths().items():
                depth.add_metric([queue], count)
        except Exception:
            # The broker's own error may name its host and password: the log only.
            logger.warning("metrics: the broker's queues could not be read", exc_info=True)
        yield depth

        age = GaugeMetricFamily(
            "oneping_outbox_oldest_due_age_seconds",
            "How long the longest-waiting due row of each outbox table has waited (0: none).",
            labels=["table"],
        )
        now = timezone.now()
        for outbox in OUTBOXES.values():
            try:
                since = oldest_due(outbox, now)
            except Exception:
                logger.warning("metrics: %s could not be read", outbox.name, exc_info=True)
                continue
            age.add_metric([outbox.name], (now - since).total_seconds() if since else 0.0)
        yield age


def exposition() -> bytes:
    """The text every scrape gets: counters of all processes, then the live gauges."""
    registry = CollectorRegistry()
    registry.register(ScrapeTimeCollector())
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
        return generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(registry)


def authorized(header: str, token: str) -> bool:
    scheme, _, presented = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404  # metrics are off: nothing is here
    if not authorized(request.headers.get("Authorization", ""), token):
        response = documented_error(
            401,
            code="invalid_metrics_token",
            message="GET /metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
