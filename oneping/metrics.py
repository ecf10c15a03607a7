"""The life of the metric files of a host, and the hooks the process managers call.

prometheus-client's multiprocess mode (https://prometheus.github.io/client_python/multiprocess/)
has three duties outside the processes that count:

- the folder (PROMETHEUS_MULTIPROC_DIR) is emptied once per host *before* its processes
  start: files of an earlier run would be added to this run's counters, and a folder
  emptied under running processes loses their counts. `python -m oneping.metrics prepare`
  does it (`make run` runs it before honcho; a deploy runs it before starting the units);
- a process that exits must be marked dead, so gauges that sum live processes only
  (`multiprocess_mode="livesum"`) stop counting it: `child_exit` for gunicorn's hook of
  that name, `on_worker_process_shutdown` on Celery's `worker_process_shutdown` signal
  (connected in oneping/celery.py);
- workers on another host write into their own host's folder, which this host's
  /metrics cannot read: `python -m oneping.metrics serve` exports it there (README,
  "Metrics and alerts").

Nothing here imports prometheus_client before the settings have decided the folder: the
client fixes its mode when first imported, and gunicorn's master imports this module
before any app code runs.
"""

import argparse
import hmac
import os
import shutil
import sys
from pathlib import Path
from typing import Any


def multiprocess_dir() -> str:
    """The folder of this host's metric files ("" when metrics are off), as settings
    decide it (METRICS_TOKEN on and no folder given: the data dir's `metrics`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneping.settings")
    from django.conf import settings

    return settings.PROMETHEUS_MULTIPROC_DIR


def prepare() -> str:
    """Empty (or create) the folder; run once per host before any oneping process starts."""
    folder = multiprocess_dir()
    if not folder:
        return ""
    path = Path(folder)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return folder


def mark_dead(pid: int) -> None:
    folder = multiprocess_dir()
    if not folder:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, folder)


def mark_dead_at_exit() -> None:
    """Mark this process dead when it exits normally. Forked children inherit the exit
    handler but not the pid: they skip it (each pool process marks itself)."""
    import atexit

    pid = os.getpid()

    def _at_exit() -> None:
        if os.getpid() == pid:
            mark_dead(pid)

    atexit.register(_at_exit)


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's `child_exit` server hook (runs in the master when a worker exited)."""
    mark_dead(worker.pid)


def on_worker_process_shutdown(pid: int | None = None, **_: Any) -> None:
    """Celery's `worker_process_shutdown` signal (runs in the pool process that exits)."""
    mark_dead(pid or os.getpid())


def serve(bind: str, port: int) -> None:
    """Export this host's metric files over HTTP, behind the same bearer token as
    /metrics: for hosts that run workers but no web process."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer, make_server

    from django.conf import settings
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    folder, token = multiprocess_dir(), settings.METRICS_TOKEN
    if not folder or not token:
        sys.exit("Set METRICS_TOKEN (and PROMETHEUS_MULTIPROC_DIR if not the default).")

    def app(environ: dict, start_response) -> list[bytes]:
        scheme, _, presented = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), token.encode()
        ):
            body = b'{"error": {"code": "invalid_metrics_token", "message": "GET /metrics needs'
            body += b' \'Authorization: Bearer <METRICS_TOKEN>\'.", "details": {}}}'
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [body]
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest(registry)]

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    with make_server(bind, port, app, server_class=Server) as server:
        print(f"metrics of {folder} on http://{bind}:{port}/metrics", flush=True)
        server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m oneping.metrics")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="empty this host's metric folder (before start-up)")
    exporter = commands.add_parser("serve", help="export this host's metric files")
    exporter.add_argument("--bind", default=os.environ.get("METRICS_BIND", "0.0.0.0"))  # noqa: S104 (a scrape target)
    exporter.add_argument("--port", type=int, default=int(os.environ.get("METRICS_PORT", 9808)))
    args = parser.parse_args(argv)
    if args.command == "prepare":
        folder = prepare()
        print(f"metric folder ready: {folder}" if folder else "metrics are off (no METRICS_TOKEN)")
    else:
        serve(args.bind, args.port)


if __name__ == "__main__":
    main()
