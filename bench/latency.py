"""End-to-end latency and memory (issue #22, "End-to-end latency", "Memory and soak").

- **send → provider**: open loop at LATENCY_RATE sends/s (unpaced Slack + Discord channels
  at the sink); each message's text carries a probe id and the epoch time its request was
  made (`latency-probe <id> <t>`), the sink (`--record`) writes when each provider request
  arrived: arrival - t per delivery. One machine, one clock.
- **status change → webhook**: the same messages' `message.delivered` events go to a
  webhook endpoint at the sink; arrival - the event's `timestamp` (written in the
  transaction that records the delivery's final status).
- the same against the **embedded default** (no DATABASE_URL / CELERY_BROKER_URL /
  CACHE_URL: SQLite in a temporary ONEPING_DATA_DIR, Celery's filesystem broker), a second
  gunicorn (one process: its cache is per process, oneping/serving.py) and worker.
- **memory**: VmRSS and Pss of every web and worker process (parent and children) after a
  warm-up and after a soak at 50 % of the send saturation, with the growth over the soak.

    python -m bench.latency seed PORT SINK_PORT   # (internal) seed the embedded stack
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench import loadgen, phases, seeding
from bench.stack import BIN, ROOT, StackError, celery_argv, gunicorn_argv, port_is_free

HOST = "127.0.0.1"
LATENCY_RATE = 50.0  # sends a second, open loop (issue #22)
EVENTS_PATH = "/latency-events"  # the latency tenants' webhook endpoint at the sink
CHANNELS = ["slack", "discord"]
_PROBE = re.compile(r"latency-probe (\S+) (\d+\.\d+)")
# Services the embedded default does without: unset, the settings fall back to SQLite in
# ONEPING_DATA_DIR, the filesystem broker and a per-process cache.
SERVICE_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")


def _seconds(run, quick: float, full: float) -> float:
    return quick if run.quick else full


def _summary(values: list[float], expected: int) -> dict:
    ordered = sorted(values)
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {
        "count": len(ordered),
        "expected": expected,
        "missing": max(expected - len(ordered), 0),
        "p50_ms": ms(loadgen.percentile(ordered, 0.50)),
        "p95_ms": ms(loadgen.percentile(ordered, 0.95)),
        "p99_ms": ms(loadgen.percentile(ordered, 0.99)),
        "max_ms": ms(ordered[-1] if ordered else None),
    }


def read_probes(path: Path, tag: str) -> tuple[list[float], list[float]]:
    """(send → provider, event → webhook receiver) seconds of the probes tagged `tag`."""
    provider, webhook = [], []
    if not path.exists():
        return provider, webhook
    prefix = f"{tag}-"
    for line in path.read_text().splitlines():
        if prefix not in line:
            continue
        arrival = json.loads(line)
        if arrival["path"] == EVENTS_PATH:
            event = json.loads(arrival["body"])
            probe = event["data"]["metadata"]["probe"].split()[-1]
            if probe.startswith(prefix):
                created = datetime.fromisoformat(event["timestamp"]).timestamp()
                webhook.append(arrival["t"] - created)
            continue
        found = _PROBE.search(arrival["body"])
        if found and found.group(1).startswith(prefix):
            provider.append(arrival["t"] - float(found.group(2)))
    return provider, webhook


def _factory(port: int, key: str, tag: str):
    """Request n: a /send whose text and metadata name the probe and when it was made."""

    def make(index: int) -> bytes:
        probe = f"{tag}-{index}"
        payload = {
            "message": f"latency-probe {probe} {time.time():.6f}",
            "channels": CHANNELS,
            "recipient": "latency",
            "metadata": {"probe": f"latency-probe {probe}"},
        }
        headers = {"Authorization": f"Bearer {key}"}
        return loadgen.json_request("POST", HOST, port, "/api/v1/send", payload, headers)

    return make


def _probe_run(run, port: int, key: str, tag: str, seconds: float, wait: float) -> dict:
    """LATENCY_RATE sends/s for `seconds`, then wait (at most `wait` s) for every delivery
    and webhook to reach the sink."""
    result = loadgen.fixed_rate(
        HOST, port, _factory(port, key, tag), rate=LATENCY_RATE, connections=run.connections,
        duration=seconds,
    )  # fmt: skip
    expected = result.ok(202) * len(CHANNELS)  # one delivery, one delivered event each
    deadline = time.monotonic() + wait
    while True:
        provider, webhook = read_probes(run.probe_log, tag)
        done = len(provider) >= expected and len(webhook) >= expected
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return {
        "send": result.summary(202),
        "provider": _summary(provider, expected),
        "webhook": _summary(webhook, expected),
    }


def _measure(run, port: int, key: str, section: str) -> None:
    """A warm-up run (connections, the worker's first tasks), then the measured one."""
    _probe_run(run, port, key, f"{section}warm", 3.0, 60.0)
    seconds = _seconds(run, 10.0, 30.0)
    with run.meter() as meter:
        measured = _probe_run(run, port, key, f"{section}{int(time.time())}", seconds, 60.0)
    split = meter.split()
    for part in ("provider", "webhook"):
        measured[part].update(split, rate=LATENCY_RATE)
    run.results["latency"][section] = {**run.results["latency"].get(section, {}), **measured}
    provider, webhook = measured["provider"], measured["webhook"]
    print(
        f"   send → provider p50 {provider['p50_ms']} p99 {provider['p99_ms']} ms "
        f"({provider['count']}/{provider['expected']}); webhook p50 {webhook['p50_ms']} "
        f"p99 {webhook['p99_ms']} ms ({webhook['count']}/{webhook['expected']})",
        flush=True,
    )


def _latency_tenant(run, port: int, name: str) -> seeding.Tenant:
    tenant = seeding.create_tenant(f"{name}@bench.invalid", f"Bench {name}")
    seeding.configure_channels(port, tenant, run.sink_port)
    seeding.create_webhook_endpoint(port, tenant, run.sink_port, EVENTS_PATH)
    return tenant


def latency_redis(run) -> None:
    """The production stack (PostgreSQL + Redis) with one worker running."""
    phases._set_aside_queued()
    run.flush_broker()
    tenant = _latency_tenant(run, run.web_port, "latency")
    run.start_worker()
    try:
        _measure(run, run.web_port, tenant.key, "redis")
    finally:
        run.stack.stop("worker")
    run.flush_broker()


def latency_embedded(run) -> None:
    """The same measurement on the embedded default: a second gunicorn (one process of the
    run's threads) and worker with SQLite and the filesystem broker in a temporary folder."""
    port = int(os.environ.get("BENCH_EMBEDDED_PORT", "18083"))
    if not port_is_free(port):
        raise StackError(f"port {port} is in use (set BENCH_EMBEDDED_PORT)")
    data_dir = Path(tempfile.mkdtemp(prefix="oneping-bench-embedded-"))
    env = {k: v for k, v in run.env.items() if k not in SERVICE_VARIABLES}
    env["ONEPING_DATA_DIR"] = str(data_dir)
    try:
        subprocess.run(  # noqa: S603
            [str(BIN / "python"), "manage.py", "migrate", "--noinput"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, timeout=600,
        )  # fmt: skip
        argv = gunicorn_argv("oneping.wsgi", port, 1, run.threads)
        run.stack.start("embedded-web", argv, port=port, env=env)
        seeded = subprocess.run(  # noqa: S603
            [str(BIN / "python"), "-m", "bench.latency", "seed", str(port), str(run.sink_port)],
            cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if seeded.returncode != 0:
            raise StackError(f"seeding the embedded stack failed: {seeded.stderr[-800:]}")
        facts = json.loads(seeded.stdout.strip().splitlines()[-1])
        run.results["latency"]["embedded"] = {"broker": facts["broker"]}
        worker = celery_argv("oneping", run.celery_concurrency)
        run.stack.start("embedded-worker", worker, env=env)
        _measure(run, port, facts["key"], "embedded")
    finally:
        run.stack.stop("embedded-worker")
        run.stack.stop("embedded-web")
        shutil.rmtree(data_dir, ignore_errors=True)


def _seed_embedded(port: int, sink_port: int) -> None:
    """Runs in a subprocess with the embedded environment (its own settings and database)."""
    import django

    django.setup()
    from django.conf import settings

    tenant = seeding.create_tenant("latency@bench.invalid", "Bench latency")
    seeding.configure_channels(port, tenant, sink_port)
    seeding.create_webhook_endpoint(port, tenant, sink_port, EVENTS_PATH)
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    broker = {
        "url": settings.CELERY_BROKER_URL,
        "polling_interval_s": options.get("polling_interval"),
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
    }
    print(json.dumps({"key": tenant.key, "broker": broker}))


# --- memory ----------------------------------------------------------------------------------


def _kib(pid: int, path: str, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/{path}") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_snapshot(run) -> dict[int, dict]:
    """pid → role, VmRSS and Pss (MiB) of every process of the web and worker groups. RSS
    counts pages a forked child shares with its parent in full; Pss splits them."""
    snapshot = {}
    groups = {
        process.pid: name
        for name, process in run.stack.processes.items()
        if name in ("web", "worker")
    }
    for pid in sorted(run.stack.all_pids()):
        try:
            name = groups.get(os.getpgid(pid))
        except ProcessLookupError:
            continue
        rss, pss = _kib(pid, "status", "VmRSS"), _kib(pid, "smaps_rollup", "Pss")
        if name is None or rss is None:
            continue
        snapshot[pid] = {
            "role": f"{name} {'parent' if pid == run.stack.pid(name) else 'child'}",
            "rss_mib": round(rss / 1024, 1),
            "pss_mib": None if pss is None else round(pss / 1024, 1),
        }
    return snapshot


def load(run, raw: bytes, rate: float, seconds: float) -> dict:
    return loadgen.fixed_rate(
        HOST, run.web_port, lambda i: raw, rate=rate, connections=run.connections,
        duration=seconds,
    ).summary(202)  # fmt: skip


def memory_soak(run) -> None:
    """Warm up at 50 % of the send saturation (measured with the worker running), snapshot,
    soak, snapshot again."""
    tenant = seeding.create_tenant("memory@bench.invalid", "Bench memory")
    seeding.configure_channels(run.web_port, tenant, run.sink_port)
    seeding.create_webhook_endpoint(run.web_port, tenant, run.sink_port)
    raw = run.request(
        "POST", "/api/v1/send", tenant.key, {**phases.SEND_PAYLOAD, "recipient": "soak"}
    )
    warm_s, soak_s = _seconds(run, 15.0, 60.0), _seconds(run, 60.0, 600.0)
    run.start_worker()
    try:
        # Half of what web and worker together sustain: the send phase's saturation (no
        # worker running) is more than the machine takes once the worker shares its cores
        # (a first QUICK run soaked at 76.8/s and got 70/s, p99 6.2 s).
        loadgen.saturate(
            HOST, run.web_port, lambda i: raw, connections=run.connections,
            duration=run.scale.warmup_s,
        )  # fmt: skip
        saturation = phases.saturate_metered(
            run, run.web_port, lambda i: raw, run.scale.saturate_s, 202
        )["ok_per_s"]
        # Its backlog must not count as the soak's load.
        phases._set_aside_queued()
        run.flush_broker()
        rate = round(saturation / 2, 1)
        print(f"   {rate}/s: warm-up {warm_s:g} s, soak {soak_s:g} s", flush=True)
        load(run, raw, rate, warm_s)
        warm = memory_snapshot(run)
        with run.meter() as meter:
            soak = load(run, raw, rate, soak_s)
        soaked = memory_snapshot(run)
    finally:
        run.stack.stop("worker")
    run.flush_broker()
    processes = []
    for pid in sorted(set(warm) | set(soaked)):
        before, after = warm.get(pid), soaked.get(pid)
        row = {"pid": pid, "role": (after or before)["role"]}
        row["warm_rss_mib"] = before and before["rss_mib"]
        row["soaked_rss_mib"] = after and after["rss_mib"]
        row["warm_pss_mib"] = before and before["pss_mib"]
        row["soaked_pss_mib"] = after and after["pss_mib"]
        if before and after:
            row["growth_pct"] = round((after["rss_mib"] / before["rss_mib"] - 1) * 100, 1)
        processes.append(row)
    growths = [row["growth_pct"] for row in processes if "growth_pct" in row]

    def largest(role: str) -> float | None:
        sizes = [row["soaked_rss_mib"] for row in processes if row["role"].startswith(role)]
        sizes = [size for size in sizes if size is not None]
        return max(sizes) if sizes else None

    run.results["memory"] = {
        "rate": rate,
        "saturation_with_worker": saturation,
        "warm_s": warm_s,
        "soak_s": soak_s,
        "soak": soak,
        "processes": processes,
        # A process that appeared or vanished during the soak (a replaced worker child).
        "replaced": sum(1 for row in processes if "growth_pct" not in row),
        "max_growth_pct": max(growths) if growths else None,
        "web_max_rss_mib": largest("web child"),
        "worker_max_rss_mib": largest("worker"),
        **meter.split(),
    }
    for row in processes:
        print(
            f"   {row['role']:<14} {row['pid']:>7}  RSS {row['warm_rss_mib']} → "
            f"{row['soaked_rss_mib']} MiB ({row.get('growth_pct')} %), Pss "
            f"{row['warm_pss_mib']} → {row['soaked_pss_mib']} MiB",
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        _seed_embedded(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)
