"""The processes of deploy/Procfile, started with honcho as docs/deploy.md says, for
tests/test_topology.py: one honcho per "host", its output in a log the test reads.

honcho starts every process of the Procfile in a session of its own (its pid is the
process group: a prefork worker's pool children belong to it), stops them all with
SIGTERM when one exits or when it is told to stop, and SIGKILLs what is left 5 s later.
"""

import contextlib
import os
import re
import signal
import time

from tests.faults.processes import BIN, ROOT, Processes, Spawned, group_members

PROCFILE = "deploy/Procfile"
OVERLAY = "tests/topology.env"
# What each "host" of the test runs (docs/deploy.md, "The topology test"): host A two web
# instances (PORT, PORT + 1), one worker per queue and beat; host B a second sending worker.
HOST_A = ["-c", "web=2"]
HOST_B = ["worker-sending"]
# honcho's own line when it has started a process: "... system | web.1 started (pid=4242)"
STARTED = re.compile(r"\| (\S+) started \(pid=(\d+)\)")


class Host:
    """One `honcho start -f deploy/Procfile -e tests/topology.env …`: what a host runs."""

    def __init__(self, processes: Processes, name: str, args: list[str], env: dict[str, str]):
        argv = [str(BIN / "honcho"), *command(args)[1:]]
        self.honcho: Spawned = processes.start(name, argv, env)
        self.name = name

    def log(self) -> str:
        try:
            return self.honcho.log.read_text(errors="replace")
        except OSError:
            return ""

    def pids(self) -> dict[str, int]:
        """Process name (web.1, worker-sending.1, …) → pid, which is its process group."""
        return {name: int(pid) for name, pid in STARTED.findall(self.log())}

    def lines_of(self, process: str) -> list[str]:
        prefix = re.compile(rf"^\S+ {re.escape(process)}\s+\| ")
        return [prefix.sub("", line) for line in self.log().splitlines() if prefix.match(line)]

    def alive(self, process: str) -> bool:
        pid = self.pids().get(process)
        return pid is not None and group_alive(pid)

    def kill(self, process: str) -> set[int]:
        """SIGKILL to the process's whole group (a worker and its pool): no warm shutdown,
        no task given back. Returns the pids that were in the group."""
        group = self.pids()[process]
        members = group_members(group)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        return members

    def stop(self, grace: float = 60.0) -> float:
        """SIGTERM to honcho, which passes it on (gunicorn finishes its requests, Celery
        its tasks); the seconds until honcho and every process it started are gone."""
        started = time.monotonic()
        groups = set(self.pids().values())
        if self.honcho.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.honcho.pid, signal.SIGTERM)
            with contextlib.suppress(Exception):
                self.honcho.process.wait(grace)
        took = time.monotonic() - started
        # Whatever honcho could not stop (it was killed itself): never outlive the test.
        self.honcho.stop(grace=5)
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        return took


def command(args: list[str]) -> list[str]:
    return ["honcho", "start", "-f", PROCFILE, "-e", OVERLAY, "--no-colour", *args]


def group_alive(group: int) -> bool:
    return bool(group_members(group))


def path_with_venv() -> str:
    """The Procfile names bare `gunicorn` and `celery`: the venv's, as in production."""
    return f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"


__all__ = ["HOST_A", "HOST_B", "OVERLAY", "PROCFILE", "ROOT", "Host", "command", "path_with_venv"]
