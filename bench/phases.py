"""The measurements of a run. Each takes the Run (bench/run.py) and fills run.results.

Every HTTP figure comes from bench/loadgen.py with the same connection count; each
measurement also records how the machine's CPU was split between the run's own processes
and everything else (bench/cpu.py).
"""

import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Callable

import psycopg

from bench import loadgen, noop_celery, profiling, report, seeding
from bench.stack import BIN, ROOT, celery_argv, gunicorn_argv

HOST = "127.0.0.1"
NOISY_PCT = report.NOISY_PCT
_inbound_serial = itertools.count()
SEND_PAYLOAD = {"message": "Order #42 has shipped", "channels": ["slack", "discord"]}
BATCH_SIZE = 100  # messages per POST /api/v1/send/batch


def least_disturbed(run, measure: Callable[[], dict]) -> dict:
    """Measure; while other people's jobs took more than NOISY_PCT of the machine, measure
    again (at most run.retries times) and keep the least disturbed result."""
    best: dict | None = None
    for attempt in range(1, run.retries + 2):
        result = {**measure(), "attempts": attempt}
        if best is None or result["foreign_cpu_pct"] < best["foreign_cpu_pct"]:
            best = result
        if result["foreign_cpu_pct"] < NOISY_PCT:
            break
        if attempt <= run.retries:
            print(
                f"   noisy ({result['foreign_cpu_pct']} % other CPU): measuring again", flush=True
            )
    return best


def saturate_metered(run, port: int, make, duration: float, expected: int, **options) -> dict:
    def measure() -> dict:
        with run.meter() as meter:
            result = loadgen.saturate(
                HOST, port, make, connections=run.connections, duration=duration, **options
            )
        return {**result.summary(expected), **meter.split()}

    return least_disturbed(run, measure)


def fixed_metered(run, make, rate: float, expected: int) -> dict:
    def measure() -> dict:
        with run.meter() as meter:
            result = loadgen.fixed_rate(
                HOST, run.web_port, make, rate=rate, connections=run.connections,
                duration=run.scale.fixed_s,
            )  # fmt: skip
        return {**result.summary(expected), **meter.split()}

    return least_disturbed(run, measure)


def saturate_and_fixed(run, section: str, make_factory, expected: int) -> None:
    """A discarded warm-up, the closed-loop maximum, then open loop at 50 % and 80 % of it."""
    s = run.scale
    loadgen.saturate(
        HOST, run.web_port, make_factory("warmup"), connections=run.connections,
        duration=s.warmup_s,
    )  # fmt: skip
    saturated = saturate_metered(run, run.web_port, make_factory("sat"), s.saturate_s, expected)
    run.results[section]["saturate"] = saturated
    maximum = saturated["ok_per_s"]
    print(f"   saturate: {maximum:,.0f}/s", flush=True)
    if maximum < 1:
        raise RuntimeError(f"no {expected} answers at saturation: {saturated}")
    for share in (50, 80):
        make = make_factory(f"fixed{share}")
        summary = fixed_metered(run, make, maximum * share / 100, expected)
        run.results[section][f"fixed_{share}"] = summary
        print(f"   {share} %: p50 {summary['p50_ms']} p99 {summary['p99_ms']} ms", flush=True)


# --- limits ---------------------------------------------------------------------------------


def limit_bare(run) -> None:
    argv = gunicorn_argv("bench.bare_wsgi:application", run.bare_port, run.workers, run.threads)
    run.stack.start("bare", argv, port=run.bare_port)
    try:
        raw = loadgen.json_request(
            "POST", HOST, run.bare_port, "/api/v1/send", {**SEND_PAYLOAD, "recipient": "x"},
            {"Authorization": f"Bearer {run.tenant.key}"},
        )  # fmt: skip
        loadgen.saturate(
            HOST, run.bare_port, lambda i: raw, connections=run.connections,
            duration=run.scale.warmup_s,
        )  # fmt: skip
        summary = saturate_metered(run, run.bare_port, lambda i: raw, run.scale.saturate_s, 200)
    finally:
        run.stack.stop("bare")
    run.results["limits"]["bare_wsgi"] = summary


def limit_trivial_view(run) -> None:
    warm = run.request("GET", "/api/v1/account", run.fresh_key(run.tenant))
    loadgen.saturate(
        HOST, run.web_port, lambda i: warm, connections=run.connections,
        duration=run.scale.warmup_s,
    )  # fmt: skip
    raw = run.request("GET", "/api/v1/account", run.fresh_key(run.tenant))
    summary = saturate_metered(run, run.web_port, lambda i: raw, run.scale.saturate_s, 200)
    run.results["limits"]["trivial_view"] = summary


def throttle_window(run) -> None:
    """The trivial view again, with the key's rate-limit state as a key sending at that rate
    for a minute has it. DRF's SimpleRateThrottle (oneping's until b7978ba) keeps one
    timestamp per request of the last minute and reads and writes the whole list on every
    request, so its cost grows with the key's own rate; fresh keys (every other figure) hide
    that, so the list is filled here. A counter-based limit has nothing to fill: the figure
    then simply confirms it costs the same as with a fresh key."""
    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    from accounts import api_keys
    from accounts.models import Account
    from accounts.throttling import ApiKeyRateThrottle

    key, raw_key = api_keys.issue_key(Account.objects.get(pk=run.tenant.account_id), "window")
    if issubclass(ApiKeyRateThrottle, SimpleRateThrottle):
        # A minute at the trivial view's rate (300/s when that phase did not run: --only).
        rate = run.results["limits"].get("trivial_view", {}).get("ok_per_s") or 300
        entries = int(rate * 60)
        now = time.time()
        history = [now - index * 60 / entries for index in range(entries)]  # newest first
        name = ApiKeyRateThrottle.cache_format % {"scope": "api_key", "ident": key.pk}
        cache.set(name, history, 60)
        state = f"{entries:,}-entry history"
    else:
        state = "O(1) state"
    raw = run.request("GET", "/api/v1/account", raw_key)
    summary = saturate_metered(run, run.web_port, lambda i: raw, run.scale.saturate_s, 200)
    run.results["throttle"] = {"trivial_view_full_window": {**summary, "state": state}}


def limit_pgbench(run) -> None:
    tenant = seeding.create_tenant("pgbench@bench.invalid", "Bench pgbench")
    argv = [
        "/usr/bin/pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n",
        "-f", str(ROOT / "bench" / "pgbench_message_insert.sql"),
        "-D", f"account_id='{tenant.account_id}'",
        "-c", str(run.connections), "-j", "2", "-T", str(run.scale.pgbench_s),
        run.database,
    ]  # fmt: skip

    def measure() -> dict:
        with run.meter() as meter:
            output = run.stack.run_to_end("pgbench", argv, timeout=run.scale.pgbench_s + 60)
        tps = [line for line in output.splitlines() if line.startswith("tps = ")]
        if not tps:
            raise RuntimeError(f"pgbench printed no tps line: {output[-500:]}")
        return {
            "tps": float(tps[0].split()[2]),
            "clients": run.connections,
            "seconds": run.scale.pgbench_s,
            **meter.split(),
        }

    run.results["limits"]["pgbench_insert"] = least_disturbed(run, measure)
    # Its rows must not stay in the message log the later phases read (their ids sort above
    # every real one, so they would sit at the top of the primary key).
    with psycopg.connect(run.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM channels_app_message WHERE account_id = %s", [tenant.account_id])
        conn.execute("VACUUM (ANALYZE) channels_app_message")


def limit_celery_noop(run) -> None:
    run.results["limits"]["celery_noop"] = least_disturbed(run, lambda: _celery_noop(run))


def _celery_noop(run) -> dict:
    """stamp, N no-ops, stamp into an idle queue; then one worker drains it."""
    run.flush_broker()
    tag = secrets.token_hex(4)
    first, last = f"bench:noop:{tag}:first", f"bench:noop:{tag}:last"
    count = run.scale.noop_tasks
    with noop_celery.app.producer_or_acquire() as producer:
        noop_celery.stamp.apply_async(args=[first], producer=producer)
        for _ in range(count):
            noop_celery.noop.apply_async(producer=producer)
        noop_celery.stamp.apply_async(args=[last], producer=producer)
    argv = celery_argv("bench.noop_celery", run.celery_concurrency, noop_celery.QUEUE)
    deadline = time.monotonic() + 60 + count / 50
    with run.meter() as meter:
        run.stack.start("noop-worker", argv)
        try:
            with run.broker() as client:
                while time.monotonic() < deadline and not client.get(last):
                    time.sleep(0.1)
                started, ended = client.get(first), client.get(last)
        finally:
            run.stack.stop("noop-worker")
    if not (started and ended):
        raise RuntimeError(f"the no-op worker did not finish {count} tasks in time")
    seconds = float(ended) - float(started)
    return {
        "tasks": count,
        "seconds": round(seconds, 2),
        "per_s": round(count / seconds, 1),
        **meter.split(),
    }


def limit_sink(run) -> None:
    argv = [
        str(BIN / "python"), "bench/sink_rate.py",
        f"http://127.0.0.1:{run.sink_port}/services/T000/B000/XXXX",
        str(run.celery_concurrency), str(run.scale.sink_s),
    ]  # fmt: skip

    def measure() -> dict:
        with run.meter() as meter:
            output = run.stack.run_to_end("sink-rate", argv, timeout=run.scale.sink_s + 60)
        return {**json.loads(output.strip().splitlines()[-1]), **meter.split()}

    run.results["limits"]["sink_posts"] = least_disturbed(run, measure)


# --- the product's paths --------------------------------------------------------------------


def _send_factory(run):
    def factory(tag: str):
        raw = run.request(
            "POST", "/api/v1/send", run.tenant.key, {**SEND_PAYLOAD, "recipient": tag}
        )
        return lambda i: raw

    return factory


def send(run) -> None:
    with profiling.maybe_record(run, "send"):
        saturate_and_fixed(run, "send", _send_factory(run), 202)
    run.flush_broker()
    # The same load spread over several accounts: one account's sends queue on its
    # MonthlyUsage row lock, several accounts' do not; the gap shows what that lock costs.
    payload = {**SEND_PAYLOAD, "recipient": "spread"}
    spread = [
        run.request("POST", "/api/v1/send", run.fresh_key(tenant), payload)
        for tenant in run.spread_tenants
    ]
    make = lambda i: spread[i % len(spread)]  # noqa: E731
    loadgen.saturate(
        HOST, run.web_port, make, connections=run.connections, duration=run.scale.warmup_s
    )
    summary = saturate_metered(run, run.web_port, make, run.scale.saturate_s, 202)
    run.results["send"]["saturate_spread"] = {**summary, "accounts": len(spread)}
    print(f"   saturate over {len(spread)} accounts: {summary['ok_per_s']:,.0f}/s", flush=True)
    run.flush_broker()


def _batch_factory(run):
    def factory(tag: str):
        messages = [{**SEND_PAYLOAD, "recipient": f"{tag}-{n}"} for n in range(BATCH_SIZE)]
        raw = run.request("POST", "/api/v1/send/batch", run.tenant.key, {"messages": messages})
        return lambda i: raw

    return factory


def _per_message(summary: dict) -> dict:
    """A batch phase's summary with its figure in messages: every 202 accepted them all (the
    bench's plan has no practical quota, and every item is valid)."""
    return {**summary, "batch_size": BATCH_SIZE, "messages_per_s": summary["ok_per_s"] * BATCH_SIZE}


def send_batch(run) -> None:
    """POST /api/v1/send/batch with BATCH_SIZE /send bodies (the send phase's), saturated:
    messages accepted per second, to set beside single sends' accepted/s."""
    factory = _batch_factory(run)
    with profiling.maybe_record(run, "batch"):
        loadgen.saturate(
            HOST, run.web_port, factory("warmup"), connections=run.connections,
            duration=run.scale.warmup_s,
        )  # fmt: skip
        summary = saturate_metered(run, run.web_port, factory("sat"), run.scale.saturate_s, 202)
    run.results["batch"]["saturate"] = _per_message(summary)
    print(f"   saturate: {summary['ok_per_s'] * BATCH_SIZE:,.0f} messages/s", flush=True)
    run.flush_broker()


def _inbound_factory(run):
    secret = run.inbound_secret.encode()

    def factory(tag: str):
        def make(index: int) -> bytes:
            # A fresh body each time, also across repeated measurements: the duplicate check
            # (SHA-256 of the body) must not short-circuit the insert.
            body = json.dumps({"event": "bench.ping", "n": next(_inbound_serial)}).encode()
            signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Webhook-Signature": signature}
            return loadgen.build_request(
                "POST", HOST, run.web_port, run.inbound_path, body=body, headers=headers
            )

        return make

    return factory


def inbound(run) -> None:
    with profiling.maybe_record(run, "inbound"):
        saturate_and_fixed(run, "inbound", _inbound_factory(run), 200)
    run.flush_broker()


def _set_aside_queued() -> None:
    """The HTTP phases left their accepted deliveries queued (their tasks were flushed). A
    worker under a backlog takes the oldest queued rows first, so it would send those
    before the ones it is timed on: set them aside (a status no worker picks up)."""
    from channels_app.models import Delivery

    set_aside = Delivery.objects.filter(status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.SKIPPED
    )
    if set_aside:
        print(f"   set aside {set_aside:,} deliveries left queued by earlier phases", flush=True)


def _queue(run, key: str, payload: dict, count: int) -> None:
    """`count` messages accepted by /send, with no worker running."""
    raw = run.request("POST", "/api/v1/send", key, payload)
    created = loadgen.saturate(
        HOST, run.web_port, lambda i: raw, connections=8, duration=120, max_requests=count
    )
    if created.ok(202) != count:
        raise RuntimeError(f"queued {created.ok(202)} of {count}: {created.summary(202)}")


def _work_until(run, finished: Callable[[], bool], seconds: float, name: str):
    """Start one worker and poll until `finished()` (or `seconds` pass); stop it. Returns
    the CPU meter of that time and when the worker was started (epoch seconds)."""
    deadline = time.monotonic() + seconds
    worker_started = time.time()
    with run.meter() as meter:
        run.stack.start("worker", celery_argv("oneping", run.celery_concurrency))
        try:
            with profiling.maybe_record(run, name, target="worker"):
                while time.monotonic() < deadline and not finished():
                    time.sleep(0.25)
        finally:
            run.stack.stop("worker")
    return meter, worker_started


def _drain(run, recipient: str, with_webhooks: bool) -> dict:
    """Queue N messages (no worker running), then start one worker and time the drain from
    the first delivery that reached a final status to the last (their updated_at)."""
    from django.db.models import Max, Min

    from channels_app.models import Delivery
    from webhooks.models import WebhookDelivery

    run.flush_broker()
    _set_aside_queued()
    count = run.scale.drain_messages
    _queue(run, run.tenant.key, {**SEND_PAYLOAD, "recipient": recipient}, count)
    deliveries = Delivery.objects.filter(
        account_id=run.tenant.account_id, message__recipient=recipient
    )
    webhooks = WebhookDelivery.objects.filter(
        account_id=run.tenant.account_id, event__message__recipient=recipient
    )
    expected = deliveries.count()

    def finished() -> bool:
        done = deliveries.filter(status__in=Delivery.FINAL).count()
        hooks = webhooks.filter(status__in=["succeeded", "failed"]).count()
        return done >= expected and (not with_webhooks or hooks >= expected)

    meter, worker_started = _work_until(run, finished, 30 + expected / 5, f"drain-{recipient}")

    def rate(queryset, final_statuses) -> dict:
        final = queryset.filter(status__in=final_statuses)
        span = final.aggregate(first=Min("updated_at"), last=Max("updated_at"))
        n = final.count()
        seconds = (span["last"] - span["first"]).total_seconds() if n > 1 else 0
        return {
            "count": n,
            "expected": expected,
            "failed": final.filter(status="failed").count(),
            "seconds": round(seconds, 2),
            "per_s": round((n - 1) / seconds, 1) if seconds else None,
            "from_worker_start_s": round(span["last"].timestamp() - worker_started, 2)
            if span["last"]
            else None,
            **meter.split(),
        }

    measured = {"deliveries": rate(deliveries, Delivery.FINAL)}
    if with_webhooks:
        measured["webhooks"] = rate(webhooks, ["succeeded", "failed"])
    ended = measured["deliveries"]["count"]
    print(f"   {measured['deliveries']['per_s']} deliveries/s", flush=True)
    if ended < expected:
        raise RuntimeError(f"only {ended} of {expected} deliveries ended in time")
    return measured


def drain_plain(run) -> None:
    run.results["drain"]["deliveries"] = _drain(run, "drain-plain", False)["deliveries"]


def drain_webhooks(run) -> None:
    seeding.create_webhook_endpoint(run.web_port, run.tenant, run.sink_port)
    measured = _drain(run, "drain-webhooks", with_webhooks=True)
    run.results["drain"]["with_webhooks"] = measured["deliveries"]
    run.results["drain"]["webhooks"] = measured["webhooks"]


def drain_distinct(run) -> None:
    """The drain again, with pacing on: N deliveries, each to a webhook of its own (a
    tenant whose Slack channel is paced; each recipient a contact with its own webhook URL
    at the sink), so no delivery waits for a token and the figure shows what pacing costs
    when it holds nothing back (a token taken and a head checked per delivery), beside the
    unpaced drain above."""
    from django.db.models import Max, Min

    from channels_app.models import Contact, Delivery

    run.flush_broker()
    _set_aside_queued()
    tenant = seeding.create_tenant("distinct@bench.invalid", "Bench distinct")
    seeding.configure_paced_slack(run.web_port, tenant, run.sink_port, 1.0)
    count = 2 * run.scale.drain_messages  # as many deliveries as the unpaced drain's
    sink = f"http://127.0.0.1:{run.sink_port}/services"
    Contact.objects.bulk_create(
        Contact(
            account_id=tenant.account_id,
            identifier=f"d{n}",
            addresses={"slack": f"{sink}/T{n}/B000/DISTINCT"},
        )
        for n in range(count)
    )
    raws = [
        run.request(
            "POST",
            "/api/v1/send",
            tenant.key,
            {"message": "Order #42 has shipped", "channels": ["slack"], "recipient": f"d{n}"},
        )
        for n in range(count)
    ]
    created = loadgen.saturate(
        HOST,
        run.web_port,
        lambda i: raws[i % count],
        connections=8,
        duration=120,
        max_requests=count,
    )
    if created.ok(202) != count:
        raise RuntimeError(f"queued {created.ok(202)} of {count}: {created.summary(202)}")
    deliveries = Delivery.objects.filter(account_id=tenant.account_id)
    final = deliveries.filter(status__in=Delivery.FINAL)
    meter, _ = _work_until(run, lambda: final.count() >= count, 30 + count / 5, "distinct")
    span = final.aggregate(first=Min("updated_at"), last=Max("updated_at"))
    n = final.count()
    seconds = (span["last"] - span["first"]).total_seconds() if n > 1 else 0
    run.results["drain"]["distinct_paced"] = {
        "count": n,
        "expected": count,
        "destinations": deliveries.values("destination").distinct().count(),
        "failed": final.filter(status="failed").count(),
        "seconds": round(seconds, 2),
        "per_s": round((n - 1) / seconds, 1) if seconds else None,
        **meter.split(),
    }
    print(f"   {run.results['drain']['distinct_paced']['per_s']} deliveries/s", flush=True)
    if n < count:
        raise RuntimeError(f"only {n} of {count} deliveries to distinct destinations ended")


# --- pacing: one destination at its configured rate ------------------------------------------

PACED_MESSAGES = 20
PACED_PER_SECOND = 5.0


def paced_destination(run) -> None:
    """N messages to ONE Slack webhook whose channel says max_per_second 5 (a tenant of
    its own, paced: the other tenants' channels are unpaced), queued with no worker
    running, then one worker: the rate they reach the sink at, against the configured rate
    and the ONEPING_PACING_HEADROOM under it. Measures the pacing, not throughput."""
    from django.conf import settings

    from channels_app.models import Delivery, TimelineEntry

    run.flush_broker()
    _set_aside_queued()
    tenant = seeding.create_tenant("paced@bench.invalid", "Bench paced")
    seeding.configure_paced_slack(run.web_port, tenant, run.sink_port, PACED_PER_SECOND)
    count = PACED_MESSAGES
    payload = {"message": "Deploy finished", "channels": ["slack"], "recipient": "paced"}
    _queue(run, tenant.key, payload, count)
    deliveries = Delivery.objects.filter(account_id=tenant.account_id)
    final = deliveries.filter(status__in=Delivery.FINAL)
    headroom = settings.ONEPING_PACING_HEADROOM
    target = PACED_PER_SECOND * headroom
    # Twice the time the rate needs, and some: a slow machine must not fail the phase.
    meter, _ = _work_until(run, lambda: final.count() >= count, 30 + 2 * count / target, "paced")
    # When each reached Slack's stand-in: its final status is written right after the answer.
    times = sorted(final.values_list("updated_at", flat=True))
    seconds = (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0
    per_s = (len(times) - 1) / seconds if seconds else None
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    run.results["paced"] = {
        "count": len(times),
        "expected": count,
        "failed": final.filter(status="failed").count(),
        "configured_per_s": PACED_PER_SECOND,
        "headroom": headroom,
        "target_per_s": round(target, 2),
        "per_s": round(per_s, 2) if per_s else None,
        "seconds": round(seconds, 2),
        "shortest_gap_s": round(min(gaps), 3) if gaps else None,
        "paced_waits": TimelineEntry.objects.filter(
            delivery__in=deliveries, detail__startswith="paced until"
        ).count(),
        **meter.split(),
    }
    print(f"   {per_s and round(per_s, 2)} deliveries/s (max_per_second {PACED_PER_SECOND:g})")
    if len(times) < count:
        raise RuntimeError(f"only {len(times)} of {count} paced deliveries ended in time")


# --- ratios from alternating slices ----------------------------------------------------------


def paired(run) -> None:
    """Each ratio of the report again, its numerator and denominator measured in alternating
    slices (D N, N D, D N, …) and the median of the per-round ratios kept.

    The phases above measure a numerator and its denominator minutes apart; on a shared
    2-core machine one 4-second slice of the trivial view ranged 117 to 416 req/s within one
    code version (docs/benchmarks.md, session 25), so a ratio of two far-apart figures could
    not tell a 10 % change. Adjacent slices see the same machine; the median of the rounds
    drops the round another job disturbed.
    """
    rounds = run.scale.paired_rounds
    slice_s = run.scale.saturate_s

    def trivial(tag: str) -> float:
        raw = run.request("GET", "/api/v1/account", run.fresh_key(run.tenant))
        return saturate_metered(run, run.web_port, lambda i: raw, slice_s, 200)["ok_per_s"]

    def http(factory, expected: int):
        def measure(tag: str) -> float:
            make = factory(f"paired-{tag}")
            result = saturate_metered(run, run.web_port, make, slice_s, expected)
            run.flush_broker()
            return result["ok_per_s"]

        return measure

    serial = itertools.count()

    def drain(tag: str) -> float:
        return _drain(run, f"paired-drain-{next(serial)}", False)["deliveries"]["per_s"] or 0.0

    def noop(tag: str) -> float:
        return _celery_noop(run)["per_s"]

    def batch_messages(tag: str) -> float:
        return http(_batch_factory(run), 202)(tag) * BATCH_SIZE

    def sends(tag: str) -> float:
        return http(_send_factory(run), 202)(f"for-batch-{tag}")

    pairs = {
        "send": (http(_send_factory(run), 202), trivial),
        "batch": (batch_messages, sends),
        "inbound": (http(_inbound_factory(run), 200), trivial),
        "drain": (drain, noop),
    }
    for name, (numerator, denominator) in pairs.items():
        if run.only and not any(word in f"paired {name}" for word in run.only):
            continue
        rows = []
        for index in range(rounds):
            # Alternate which goes first, so a machine getting busier or quieter over the
            # phase does not favour one side.
            order = [("d", denominator), ("n", numerator)]
            first, second = order if index % 2 == 0 else order[::-1]
            figures = {key: measure(f"{index}{key}") for key, measure in (first, second)}
            rows.append(
                {
                    "numerator": figures["n"],
                    "denominator": figures["d"],
                    "ratio": round(figures["n"] / figures["d"], 3) if figures["d"] else None,
                }
            )
        ratios = sorted(row["ratio"] for row in rows if row["ratio"] is not None)
        median = ratios[len(ratios) // 2] if ratios else None
        run.results["paired"][name] = {"rounds": rows, "median": median}
        print(f"   {name}: ratios {ratios} → median {median}", flush=True)


NEIGHBOUR_SHARE = 0.2  # another tenant's newer messages, as a share of the log's size


def message_log(run) -> None:
    """The first page and a filtered page of a 1 M-message log (30 to 1 days old); then the
    first page again once another tenant has sent NEIGHBOUR_SHARE as many messages since
    (the last day), as happens in any shared table: newer rows of other accounts must not
    slow an account's newest-first page down."""
    s = run.scale
    print(f"   seeding {s.log_messages:,} messages", flush=True)
    seed = seeding.seed_message_log(run.database_url, run.log_tenant.account_id, s.log_messages)
    run.results["log"]["seed"] = seed
    print(f"   seeded in {seed['copy_s']} s (+ ANALYZE {seed['analyze_s']} s)", flush=True)
    _log_pages(run, (("first_page", "/api/v1/messages"),
                     ("filtered", "/api/v1/messages?status=failed")))  # fmt: skip
    neighbour = seeding.create_tenant("neighbour@bench.invalid", "Bench neighbour")
    count = int(s.log_messages * NEIGHBOUR_SHARE)
    print(f"   seeding {count:,} newer messages of another account", flush=True)
    seeded = seeding.seed_message_log(
        run.database_url, neighbour.account_id, count, days_ago=(1, 0.001)
    )
    run.results["log"]["neighbour_seed"] = seeded
    _log_pages(run, (("first_page_behind_neighbour", "/api/v1/messages"),))
    run.results["log"]["first_page_behind_neighbour"]["newer_rows"] = count


def _log_pages(run, pages) -> None:
    for name, path in pages:
        raw = run.request("GET", path, run.log_tenant.key)
        loadgen.sequential(HOST, run.web_port, lambda i, raw=raw: raw, count=5)  # warm-up

        def measure(raw=raw) -> dict:
            with run.meter() as meter:
                result = loadgen.sequential(
                    HOST, run.web_port, lambda i: raw, count=run.scale.log_requests
                )
            return {**result.summary(200), **meter.split()}

        run.results["log"][name] = least_disturbed(run, measure)
        print(f"   {name}: p95 {run.results['log'][name]['p95_ms']} ms", flush=True)
