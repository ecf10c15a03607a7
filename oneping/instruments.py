"""The counters, histograms and gauges every process updates (GET /metrics sums them).

With PROMETHEUS_MULTIPROC_DIR set, each process writes its values into files of its own
in that folder and the scrape adds them up (prometheus-client's multiprocess mode:
https://prometheus.github.io/client_python/multiprocess/). The client decides that mode
when it is imported, from the environment: settings set the variable, so settings load
first, and a process that imported the client too early is refused rather than silently
counting into memory no scrape ever reads.

Labels are bounded sets (route names, channels, statuses, outcomes): never an account or
row id. The gauges computed at scrape time (queue depth, oldest due row) are in
oneping/scrape.py.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if settings.PROMETHEUS_MULTIPROC_DIR:  # settings set the variable the client reads
    import prometheus_client.values

    if prometheus_client.values.ValueClass.__name__ != "MmapedValue":
        raise ImproperlyConfigured(
            "prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set: this "
            "process's metrics would never reach /metrics. Import oneping.settings first."
        )

from prometheus_client import Counter, Gauge, Histogram

# Latency buckets from 5 ms to 10 s: /send answers in milliseconds, a stuck database in
# seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "oneping_http_requests",
    "Requests answered, by route name (the URL pattern's name), method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "oneping_http_request_duration_seconds",
    "Time to answer a request, by route name, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "oneping_http_requests_in_progress",
    "Requests being answered now (live web processes only).",
    multiprocess_mode="livesum",
)
TASKS_IN_PROGRESS = Gauge(
    "oneping_tasks_in_progress",
    "Celery tasks running now, by task name (live worker processes only).",
    ["task"],
    multiprocess_mode="livesum",
)
DELIVERIES = Counter(
    "oneping_deliveries",
    "Deliveries that reached a final status, by channel and status.",
    ["channel", "status"],
)
DELIVERY_ATTEMPTS = Counter(
    "oneping_delivery_attempts",
    "Sends to a provider, by channel and outcome (delivered, transient, permanent).",
    ["channel", "outcome"],
)
# Pacing (channels_app.pacing): waits for a destination's token, and the providers'
# own "slow down" answers (a 429 with a wait) that pacing is there to avoid.
PACED_WAITS = Counter(
    "oneping_paced_waits",
    "Deliveries put back to wait for their destination's pacing token, by channel.",
    ["channel"],
)
PROVIDER_RATE_LIMITED = Counter(
    "oneping_provider_rate_limited",
    "Provider answers that asked to wait (429 and the like), by channel.",
    ["channel"],
)
WEBHOOK_ATTEMPTS = Counter(
    "oneping_webhook_attempts",
    "POSTs to webhook receivers, by outcome (delivered, transient, permanent).",
    ["outcome"],
)
INBOUND_EVENTS = Counter(
    "oneping_inbound_events",
    "Inbound webhook events, by status: received (stored), duplicate (already stored), "
    "then processed, ignored or failed.",
    ["status"],
)
QUOTA_REJECTIONS = Counter(
    "oneping_quota_rejections",
    "Messages refused because the account's monthly quota was used up.",
)

# The outcomes of one attempt, in both delivery and webhook words.
DELIVERED, TRANSIENT, PERMANENT = "delivered", "transient", "permanent"
