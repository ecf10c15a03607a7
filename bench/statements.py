"""What one request or one task costs, in-process: SQL statements, time, and a profile.

    .venv/bin/python -m bench.statements [--repeat N] [--profile NAME]

Runs each operation of the hot paths (the trivial view, /send, an inbound webhook, one
delivery, one outgoing webhook) against a scratch PostgreSQL database and a local sink in
a thread, single-threaded, and prints the statements of one call and the median time of
N calls. It is the microscope next to `make bench`'s telescope: when a figure of the
load test moves, this says which statements came or went. `--profile send` (or send_batch,
inbound, account, first_wave, batch, webhook) prints cProfile's top functions for that operation.
"""

import argparse
import cProfile
import os
import pstats
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable

DATABASE = os.environ.get("BENCH_STATEMENTS_DB", "oneping_statements")
REDIS_DB = os.environ.get("BENCH_STATEMENTS_REDIS_DB", "8")


def configure() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "oneping.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ONEPING_ENCRYPTION_KEYS": "YmVuY2gtc3RhdGVtZW50cy1zY3JhdGNoLWtleS0zMmI=",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "ONEPING_ALLOW_PRIVATE_URLS": "true",
            "ONEPING_ALLOW_HTTP_URLS": "true",  # the sink speaks plain HTTP
            # Timed calls come back to back, past the inbound URLs' rate limits.
            "ONEPING_INBOUND_RATE_PER_ENDPOINT": "0",
            "ONEPING_INBOUND_RATE_PER_ACCOUNT": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()


def start_sink() -> int:
    from bench import sink

    sink.QUIET = True
    server = sink.SinkServer(("127.0.0.1", 0), sink.Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def prepare(sink_port: int) -> dict[str, Callable[[], object]]:
    """An account with Slack + Discord at the sink, an inbound endpoint and a webhook
    endpoint; returns one callable per operation."""
    import hashlib
    import hmac
    import json
    import uuid

    from django.test import Client

    from accounts import api_keys, services
    from channels_app import delivery as delivery_service
    from channels_app.models import ChannelConfig, Delivery
    from webhooks import sending as webhook_sending
    from webhooks.models import WebhookDelivery

    _, account = services.create_user_with_account(
        email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
        password=secrets.token_urlsafe(16),
        account_name="Statements",
    )
    account.plan.monthly_quota = 2_000_000_000
    account.plan.api_requests_per_minute = 2_000_000_000
    account.plan.save()
    _, key = api_keys.issue_key(account, "statements")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", raise_request_exception=True)
    sink = f"http://127.0.0.1:{sink_port}"

    def post(path: str, payload: dict, **headers) -> dict:
        response = client.post(path, payload, content_type="application/json", **headers)
        if response.status_code >= 300:
            raise RuntimeError(f"{path}: {response.status_code} {response.content[:300]!r}")
        return response.json()

    for kind, url in (
        ("slack", f"{sink}/services/T000/B000/XXXX"),
        ("discord", f"{sink}/api/webhooks/1/bench-token"),
    ):
        post("/api/v1/channels", {"kind": kind, "config": {"webhook_url": url}})
    # The batch operation claims 32 deliveries to these ONE webhook each: paced, only the
    # head would be claimed. Unpaced (the operator's flag), as the benchmark's (seeding.py).
    ChannelConfig.objects.filter(account=account).update(unpaced=True)
    inbound_secret = secrets.token_hex(16)
    inbound = post(
        "/api/v1/inbound-endpoints",
        {
            "name": "bench",
            "verification": "hmac_sha256",
            "secret": inbound_secret,
            "rules": [
                {"event": "*", "message": "n {{ n }}", "channels": ["slack"], "recipient": "x"}
            ],
        },
    )
    inbound_path = "/hooks/in/" + inbound["url"].rsplit("/hooks/in/", 1)[1]
    post(
        "/api/v1/webhook-endpoints",
        {"url": f"{sink}/oneping-events", "event_types": ["message.delivered"]},
    )
    send_payload = {"recipient": "bench", "message": "hello", "channels": ["slack", "discord"]}
    serial = iter(range(10**9))

    def send() -> object:
        return post("/api/v1/send", send_payload)

    batch_payload = {"messages": [{**send_payload, "recipient": f"b{n}"} for n in range(100)]}

    def send_batch() -> object:
        """POST /api/v1/send/batch with 100 of /send's messages."""
        return post("/api/v1/send/batch", batch_payload)

    def inbound_hook() -> object:
        body = json.dumps({"event": "bench.ping", "n": next(serial)}).encode()
        signature = hmac.new(inbound_secret.encode(), body, hashlib.sha256).hexdigest()
        response = client.post(
            inbound_path,
            body,
            content_type="application/json",
            HTTP_X_WEBHOOK_SIGNATURE=signature,
        )
        if response.status_code != 200:
            raise RuntimeError(f"inbound: {response.status_code} {response.content[:300]!r}")
        return response

    queued = Delivery.objects.filter(account=account, status=Delivery.Status.QUEUED)
    pending = WebhookDelivery.objects.filter(account=account, status="pending")

    def first_wave() -> object:
        """A message's two deliveries, as the worker gets them: one task."""
        delivery = queued.order_by("pk").first()
        if delivery is None:
            send()
            delivery = queued.order_by("pk").first()
        wave = list(queued.filter(message_id=delivery.message_id).values_list("pk", flat=True))
        return delivery_service.attempt_many(wave)

    def batch() -> object:
        """A task under a backlog: its own first wave and delivery.BATCH - 2 more."""
        wave = list(queued.order_by("pk").values_list("pk", flat=True)[:2])
        return delivery_service.attempt_many(wave, more=delivery_service.BATCH - len(wave))

    def one_webhook() -> object:
        webhook = pending.order_by("pk").first()
        while webhook is None:
            first_wave()
            webhook = pending.order_by("pk").first()
        return webhook_sending.attempt(webhook.pk)

    return {
        "account": lambda: client.get("/api/v1/account"),
        "send": send,
        "send_batch": send_batch,
        "inbound": inbound_hook,
        "first_wave": first_wave,
        "batch": batch,
        "webhook": one_webhook,
    }


def measure(name: str, operation: Callable[[], object], repeat: int) -> dict:
    """Statements of one call (after a warm-up), then the median time of `repeat` calls.
    Deliveries and webhooks need rows to work on: those are made outside the timing."""
    from django.db import connection

    statements: list[str] = []

    def capture(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    operation()
    # execute_wrapper, not CaptureQueriesContext: the test client's request_started
    # signal empties connection.queries mid-call.
    with connection.execute_wrapper(capture):
        operation()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        operation()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "operation": name,
        "statements": statements,
        "median_ms": statistics.median(times),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--profile",
        choices=["account", "send", "send_batch", "inbound", "first_wave", "batch", "webhook"],
    )
    parser.add_argument("--sql", action="store_true", help="print every statement")
    parser.add_argument(
        "--sort", default="cumulative", help="with --profile: a pstats key (tottime, calls…)"
    )
    parser.add_argument(
        "--callers", metavar="REGEX", help="with --profile: who calls the functions matching it"
    )
    args = parser.parse_args()

    configure()
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    from bench.run import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    try:
        call_command("migrate", verbosity=0)
        operations = prepare(start_sink())
        # Deliveries and webhooks consume queued rows: make enough of them up front (a
        # first wave takes one message, a batch BATCH / 2, a webhook runs a first wave).
        from channels_app.delivery import BATCH

        for _ in range((args.repeat + 2) * (2 + BATCH // 2)):
            operations["send"]()
        for name, operation in operations.items():
            if args.profile == name:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.repeat):
                    operation()
                profiler.disable()
                stats = pstats.Stats(profiler, stream=sys.stdout).sort_stats(args.sort)
                stats.print_stats(120)
                if args.callers:
                    stats.print_callers(args.callers)
                continue
            result = measure(name, operation, args.repeat)
            print(
                f"{name:10} {len(result['statements']):3} statements  "
                f"{result['median_ms']:6.2f} ms (median of {args.repeat})"
            )
            if args.sql:
                for sql in result["statements"]:
                    print("    " + sql[:160])
    finally:
        connection.close()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
