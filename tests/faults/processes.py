"""Processes a fault test starts (Celery workers, a web server, Redis): each in its own
process group, so it can be killed whole (a prefork worker's pool children with it) and
never touches anything the test did not start."""

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Loaded once in the parent: the child only makes the prctl call between fork and exec.
_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """If pytest itself dies (even by SIGKILL, which skips every finalizer), the kernel
    sends the child SIGTERM, so no worker or server outlives the run."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: "Spawned | None" = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.alive:
            raise AssertionError(f"{process.name} exited early:\n{process.log_tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def database_url(host: str | None = None, port: int | None = None) -> str:
    """A DATABASE_URL for the test database this run uses (the test name, not the
    configured one), optionally through another host and port (a proxy)."""
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = urllib.parse.quote(params.get("USER") or "")
    password = urllib.parse.quote(params.get("PASSWORD") or "")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = host or params.get("HOST") or "127.0.0.1"
    port = port or int(params.get("PORT") or 5432)
    return f"postgres://{credentials}{host}:{port}/{urllib.parse.quote(params['NAME'])}"


def child_env(**overrides: str) -> dict[str, str]:
    """The environment of a process that must see what this test run sees: the same test
    database and, in the embedded profile, the same data folder (filesystem broker)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.faults.worker_settings",
        ONEPING_TEST_DATA_DIR=str(settings.DATA_DIR),
        DATABASE_URL=database_url(),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def group_members(group: int) -> set[int]:
    """Every live (not zombie) process whose process group is `group`."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the ")" closing the command name: state ppid pgrp …
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group and state != "Z":
            members.add(int(entry.name))
    return members


# honcho's own line when it has started a process: "... system | web.1 started (pid=4242)"
HONCHO_STARTED = re.compile(r"\| \S+ started \(pid=(\d+)\)")


class Spawned:
    """One started process (and its process group), its output in a log file."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log: Path, service: bool = False
    ):
        self.name = name
        self.log = log
        self.service = service  # a server others use (Redis): stopped after its clients
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the pool
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def group_pids(self) -> set[int]:
        """Every live process in this process group (a prefork worker's pool children)."""
        return group_members(self.pid)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the group (a warm shutdown), SIGKILL after `grace`; wait until no
        process of the group is left."""
        if self.alive:
            self.kill(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with open(self.log, "a") as log:  # so a failure's log tail says why
                    log.write(f"\n[tests] no exit {grace} s after SIGTERM: SIGKILL\n")
                self.kill(signal.SIGKILL)
                self.process.wait(5)
        deadline = time.monotonic() + 10
        while self.group_pids() and time.monotonic() < deadline:
            self.kill(signal.SIGKILL)  # pool children orphaned by a killed parent
            time.sleep(0.05)
        # honcho (`make run`) starts each process in a session of its own, out of reach of
        # the killpg above: a worker or beat left behind would go on consuming the test
        # run's queues and sweeping its database in later tests.
        for group in self.honcho_groups():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)

    def honcho_groups(self) -> set[int]:
        """The process groups honcho reported starting ("web.1 started (pid=4242)")."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return set()
        return {int(pid) for pid in HONCHO_STARTED.findall(text)}

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Processes:
    """What a test started; the fixture stops all of it, whatever the outcome."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Spawned] = []

    def start(
        self, name: str, argv: list[str], env: dict[str, str], service: bool = False
    ) -> Spawned:
        log = self.log_dir / f"{name}-{len(self.started)}.log"
        spawned = Spawned(name, argv, env, log, service)
        self.started.append(spawned)
        return spawned

    def worker(self, name: str = "worker", **env: str) -> Spawned:
        """A real Celery worker: prefork pool of 2, as production runs it."""
        argv = [
            str(BIN / "celery"),
            "-A",
            "oneping",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--loglevel",
            os.environ.get("ONEPING_TEST_WORKER_LOGLEVEL", "WARNING"),
            "--hostname",
            f"{name}-{os.getpid()}-{len(self.started)}@%h",
            # Cluster chatter only; mingle would also hold the start for a second or more.
            "--without-mingle",
            "--without-gossip",
        ]
        return self.start(name, argv, child_env(**env))

    def stop_all(self) -> None:
        """Clients first (a worker shuts down warm while its broker is still there)."""
        for spawned in sorted(reversed(self.started), key=lambda p: p.service):
            spawned.stop()
