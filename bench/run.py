"""`make bench`: start the production stack on this machine, measure it, tear it down.

    python -m bench.run [--quick] [--profile] [--only WORDS] [--sweep]

See bench/README.md for what is measured and how to read the table. Everything runs on
127.0.0.1 with a database, a Redis db index and ports of its own; every process the run
starts is stopped at the end, also after a failure or Ctrl-C.
"""

import argparse
import fcntl
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis
from cryptography.fernet import Fernet

from bench import cpu, latency, loadgen, phases, report, seeding, sweep
from bench.stack import (
    BIN,
    ROOT,
    Stack,
    StackError,
    celery_argv,
    gunicorn_argv,
    port_is_free,
    set_priority,
)

HOST = "127.0.0.1"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Scale:
    saturate_s: float  # each closed-loop measurement
    warmup_s: float  # discarded closed-loop run before it
    fixed_s: float  # each fixed-rate measurement
    drain_messages: int  # each has 2 deliveries (slack, discord)
    noop_tasks: int
    log_messages: int
    log_requests: int
    pgbench_s: int
    sink_s: float
    quiet_wait_s: float  # at most this long before each measurement for a quiet machine
    retries: int  # a measurement disturbed by other people's jobs is repeated this often
    paired_rounds: int  # rounds of alternating numerator/denominator slices per ratio


QUICK = Scale(4, 1, 5, 100, 2_000, 50_000, 100, 4, 3, 1, 0, 3)
FULL = Scale(15, 3, 20, 1_500, 20_000, 1_000_000, 200, 15, 10, 10, 2, 5)


SPREAD_ACCOUNTS = 8  # send saturation again, spread over this many accounts

PHASES = [
    ("limit: bare WSGI", phases.limit_bare),
    ("limit: trivial view", phases.limit_trivial_view),
    ("rate-limit window", phases.throttle_window),
    ("limit: pgbench insert", phases.limit_pgbench),
    ("limit: celery no-op", phases.limit_celery_noop),
    ("limit: requests to sink", phases.limit_sink),
    ("send", phases.send),
    ("send batch", phases.send_batch),
    ("inbound", phases.inbound),
    ("drain: deliveries", phases.drain_plain),
    ("paired ratios", phases.paired),
    ("drain: deliveries + webhooks", phases.drain_webhooks),
    ("drain: distinct paced destinations", phases.drain_distinct),
    ("paced destination", phases.paced_destination),
    ("end-to-end latency", latency.latency_redis),
    ("end-to-end latency: embedded default", latency.latency_embedded),
    ("memory: soak", latency.memory_soak),
    ("message log", phases.message_log),
]


def setting(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_{name}", default)


class Run:
    def __init__(self, quick: bool, profile: bool, sweep: bool = False, only: str = ""):
        self.scale = QUICK if quick else FULL
        self.quick, self.profile, self.sweep = quick, profile, sweep
        self.only = [word.strip() for word in only.split(",") if word.strip()]
        self.started_at = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.results_dir = ROOT / "bench" / "results"
        self.log_dir = self.results_dir / self.started_at
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.web_port = int(setting("WEB_PORT", "18080"))
        self.bare_port = int(setting("BARE_PORT", "18081"))
        self.sink_port = int(setting("SINK_PORT", "19000"))
        self.workers = int(setting("WORKERS", "2"))  # chosen with --sweep: docs/benchmarks.md
        self.threads = int(setting("THREADS", "4"))
        self.connections = int(setting("CONNECTIONS", "32"))
        self.celery_concurrency = int(setting("CELERY_CONCURRENCY", "2"))
        # 0 by default: a negative value makes a shared machine's other jobs (colleagues'
        # test runs) crawl while the run lasts. Worth it only when they are your own.
        self.niceness = int(setting("NICE", "0"))
        self.retries = int(setting("RETRIES", str(self.scale.retries)))
        self.database = setting("DB", "oneping_bench")
        self.database_url = f"postgres://postgres@127.0.0.1:5432/{self.database}"
        self.redis_db = int(setting("REDIS_DB", "9"))
        self.broker_url = f"redis://127.0.0.1:6379/{self.redis_db}"
        self.owns_resources = False  # set once the run holds the lock on them (claim)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "oneping.settings",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": self.broker_url,
            # Production needs a shared cache (the per-key rate limit counts in it).
            "CACHE_URL": self.broker_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ONEPING_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ONEPING_ALLOW_PRIVATE_URLS": "true",
            "ONEPING_ALLOW_HTTP_URLS": "true",  # the sink speaks plain HTTP
            # The benchmark measures throughput, far past the inbound URLs' rate limits.
            "ONEPING_INBOUND_RATE_PER_ENDPOINT": "0",
            "ONEPING_INBOUND_RATE_PER_ACCOUNT": "0",
            "ONEPING_DATA_DIR": str(self.log_dir / "data"),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.stack = Stack(self.env, self.log_dir)
        self.results: dict = {
            "started_at": self.started_at,
            "quick": quick,
            "scale": self.scale.__dict__,
            "config": {
                "gunicorn": f"--workers {self.workers} --worker-class gthread "
                f"--threads {self.threads}"
                if self.threads > 1
                else f"--workers {self.workers} (sync)",
                "celery": f"1 worker, prefork --concurrency={self.celery_concurrency}",
                "connections": self.connections,
                "niceness": self.niceness,
                "retries": self.retries,
                "database": self.database,
                "broker": self.broker_url,
            },
            "limits": {},
            "send": {},
            "batch": {},
            "inbound": {},
            "drain": {},
            "paced": {},
            "latency": {},
            "memory": {},
            "paired": {},
            "log": {},
            "throttle": {},
            "errors": {},
            "phase_seconds": {},
            "quiet_waits": [],
        }

    # --- plumbing ------------------------------------------------------------------------

    def phase(self, name: str, action) -> None:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            action()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            self.results["errors"][name] = f"{type(exc).__name__}: {exc}"[:500]
            with open(self.log_dir / "errors.log", "a") as log:
                log.write(f"--- {name}\n{traceback.format_exc()}\n")
            print(f"   FAILED: {exc} (traceback in {self.log_dir / 'errors.log'})", flush=True)
        self.results["phase_seconds"][name] = round(time.monotonic() - started, 1)

    def broker(self) -> redis.Redis:
        return redis.Redis.from_url(self.broker_url)

    def flush_broker(self) -> None:
        """Drop queued tasks between phases (this db index belongs to the run)."""
        with self.broker() as client:
            client.flushdb()

    def start_web(self) -> None:
        argv = gunicorn_argv("oneping.wsgi", self.web_port, self.workers, self.threads)
        self.stack.start("web", argv, port=self.web_port)
        status, body = seeding.api(self.web_port, "GET", "/healthz", "")
        if status != 200:
            raise StackError(f"/healthz answered {status}: {body}")

    def start_worker(self) -> None:
        self.stack.start("worker", celery_argv("oneping", self.celery_concurrency))

    def request(self, method: str, path: str, key: str, payload=None) -> bytes:
        headers = {"Authorization": f"Bearer {key}"}
        if payload is None:
            return loadgen.build_request(method, HOST, self.web_port, path, headers=headers)
        return loadgen.json_request(method, HOST, self.web_port, path, payload, headers)

    def fresh_key(self, tenant: seeding.Tenant) -> str:
        """A new API key per measurement: the rate limit's per-key history (see
        phases.throttle_window) then starts empty, whatever ran before."""
        from accounts import api_keys
        from accounts.models import Account

        return api_keys.issue_key(Account.objects.get(pk=tenant.account_id), "bench")[1]

    def our_pids(self) -> set[int]:
        return self.stack.all_pids()

    def meter(self) -> cpu.Meter:
        """Split the machine's CPU during a measurement; first wait (bounded) for other
        people's jobs to quieten down, and keep the run's processes at BENCH_NICE."""
        if self.niceness:
            set_priority(self.our_pids() | cpu.backends_of(self.database), self.niceness)
        self.results["quiet_waits"].append(
            cpu.wait_for_quiet(self.our_pids, self.database, self.scale.quiet_wait_s)
        )
        return cpu.Meter(self.our_pids, self.database)

    # --- setup -----------------------------------------------------------------------------

    def check_services(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn:
            self.results["machine"]["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
        with self.broker() as client:
            client.ping()
            self.results["machine"]["redis"] = client.info("server")["redis_version"]
            if client.dbsize():
                print(f"   note: {self.broker_url} was not empty; the run flushes it", flush=True)
        for port in (self.web_port, self.bare_port, self.sink_port):
            if not port_is_free(port):
                raise StackError(f"port {port} is in use (a leftover run? set BENCH_*_PORT)")

    def create_database(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.database}"')
        subprocess.run(  # noqa: S603
            [str(BIN / "python"), "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )

    def claim(self) -> None:
        """One run per database and Redis db at a time: a second run would drop the first
        one's database. The lock goes away with the process, however it ends."""
        path = Path(tempfile.gettempdir()) / f"oneping-bench-{self.database}-{self.redis_db}.lock"
        self.lock = open(path, "w")  # noqa: SIM115 (held for the whole run)
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackError(
                f"another bench run is using {self.database} and Redis db {self.redis_db} "
                "(set BENCH_DB and BENCH_REDIS_DB to run one beside it)"
            ) from None
        self.owns_resources = True

    def setup(self) -> None:
        self.claim()
        self.check_services()
        self.create_database()
        self.flush_broker()
        os.environ.update(self.env)
        import django

        django.setup()
        # The sink notes when each latency probe arrives (bench/latency.py).
        self.probe_log = self.log_dir / "sink-probes.jsonl"
        sink = [str(BIN / "python"), "bench/sink.py", str(self.sink_port), "--quiet"]
        sink += ["--record", str(self.probe_log)]
        self.stack.start("sink", sink, port=self.sink_port)
        self.start_web()
        self.tenant = seeding.create_tenant("bench@bench.invalid", "Bench")
        seeding.configure_channels(self.web_port, self.tenant, self.sink_port)
        self.inbound_secret = secrets.token_hex(16)
        self.inbound_path = seeding.create_inbound_endpoint(
            self.web_port, self.tenant, self.inbound_secret
        )
        self.log_tenant = seeding.create_tenant("log@bench.invalid", "Bench log")
        self.spread_tenants = []
        for index in range(SPREAD_ACCOUNTS):
            tenant = seeding.create_tenant(f"spread{index}@bench.invalid", f"Bench {index}")
            seeding.configure_channels(self.web_port, tenant, self.sink_port)
            self.spread_tenants.append(tenant)

    # --- the whole run -------------------------------------------------------------------

    def execute(self) -> int:
        self.results["machine"] = machine_info()
        print("== measuring background CPU load (2 s)", flush=True)
        self.results["background_cpu_pct"] = background_cpu(2.0)
        try:
            self.phase("setup", self.setup)
            if "setup" in self.results["errors"]:
                pass
            elif self.sweep:
                self.phase("gunicorn sweep", lambda: sweep.sweep(self))
            else:
                for name, measure in PHASES:
                    if self.only and not any(word in name for word in self.only):
                        continue
                    self.phase(name, lambda measure=measure: measure(self))
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            self.teardown()
        self.results["ratios"] = report.ratios(self.results)
        out = self.results_dir / f"{self.started_at}.json"
        out.write_text(json.dumps(self.results, indent=2, default=str))
        print()
        if not self.sweep:
            print(report.render(self.results))
        print(f"\nresults: {out.relative_to(ROOT)}   logs: {self.log_dir.relative_to(ROOT)}/")
        return 1 if self.results["errors"] else 0

    def teardown(self) -> None:
        print("== teardown", flush=True)
        self.stack.stop_all()
        if not self.owns_resources:
            return  # another run's database and queues: not ours to drop
        try:
            self.flush_broker()
        except redis.RedisError as exc:
            print(f"   could not flush {self.broker_url}: {exc}", flush=True)
        if setting("KEEP_DB", "") not in ("1", "true", "yes"):
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: S110 (Django may not be set up yet)
                pass
            try:
                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            except psycopg.Error as exc:
                print(f"   could not drop {self.database}: {exc}", flush=True)


def background_cpu(seconds: float) -> float:
    before = cpu.machine_jiffies()
    time.sleep(seconds)
    after = cpu.machine_jiffies()
    span = after[1] - before[1]
    return round((after[0] - before[0]) / span * 100, 1) if span else 0.0


def machine_info() -> dict:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty_files": len(_git("status", "--porcelain").splitlines()),
    }


def _git(*args: str) -> str:
    """Read-only git queries, to record which code was measured."""
    done = subprocess.run(  # noqa: S603
        ["/usr/bin/git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scale, under 3 minutes")
    parser.add_argument("--profile", action="store_true", help="py-spy the web and worker")
    parser.add_argument("--sweep", action="store_true", help="compare gunicorn settings only")
    parser.add_argument(
        "--only", default="", help="comma-separated words: run the phases whose name has one"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    # Ctrl-C / kill -INT stop the run (and tear down) even when the shell that started it
    # had SIGINT ignored, as it does for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run = Run(quick=args.quick, profile=args.profile, sweep=args.sweep, only=args.only)
    if run.niceness:
        # The harness (load generator) and, by inheritance, every process it starts.
        set_priority([os.getpid()], run.niceness)
    try:
        return run.execute()
    except KeyboardInterrupt:
        print("\ninterrupted: every process the run started is stopped", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
