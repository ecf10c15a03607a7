"""Starting and stopping the processes of a benchmark run: gunicorn, Celery, the sink.

Each process is started in its own session (process group) and stopped by that group's id
only, SIGTERM first and SIGKILL after a grace period, so a run never leaves anything behind
and never touches processes it did not start.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


class StackError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """Runs in the child before exec: if the harness itself is killed (even with SIGKILL,
    which skips its clean-up), the kernel sends the child SIGTERM (prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def set_priority(pids, niceness: int) -> None:
    """Give the run's processes (never anyone else's) a scheduling priority.

    With autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled) CPU is shared
    between sessions first, and a process's nice only counts inside its session; so the
    session each stack process leads gets the niceness too (/proc/<pid>/autogroup)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, niceness)
        with contextlib.suppress(OSError), open(f"/proc/{pid}/autogroup", "w") as group:
            if os.getsid(pid) == pid:  # only groups of sessions the run created
                group.write(str(niceness))


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"the process for port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise StackError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


class Stack:
    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen:
        """Start `argv` in a session of its own; `env` replaces the stack's environment
        (the embedded-default latency phase runs a second stack without PostgreSQL/Redis)."""
        if name in self.processes:
            raise StackError(f"{name} is already running")
        if port is not None and not port_is_free(port):
            raise StackError(f"port {port} is taken: set another with the BENCH_*_PORT variables")
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (kept open for the child)
        process = subprocess.Popen(  # noqa: S603 (our own argv, no shell)
            argv,
            cwd=ROOT,
            env=self.env if env is None else env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # the harness forks from one thread
        )
        log.close()
        self.processes[name] = process
        if port is not None:
            try:
                wait_for_port(port, 30, process)
            except StackError as exc:
                raise StackError(f"{name}: {exc} (see {self.log_dir / (name + '.log')})") from exc
        return process

    def stop(self, name: str, grace: float = 10.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            process.wait(5)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def all_pids(self) -> set[int]:
        """Every pid in the process groups this stack started (gunicorn's workers, Celery's
        pool processes, …)."""
        groups = {process.pid for process in self.processes.values()}
        pids = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) in groups:
                    pids.add(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
        return pids

    def run_to_end(self, name: str, argv: list[str], timeout: float) -> str:
        """Run a one-off command in its own process group; return its output."""
        process = self.start(name, argv)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise StackError(f"{name} did not finish in {timeout:.0f} s") from None
        finally:
            self.stop(name)
        output = (self.log_dir / f"{name}.log").read_text()
        if process.returncode != 0:
            raise StackError(f"{name} exited with {process.returncode}: {output[-500:]}")
        return output


def gunicorn_argv(app: str, port: int, workers: int, threads: int) -> list[str]:
    argv = [str(BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if threads > 1:
        argv += ["--worker-class", "gthread", "--threads", str(threads)]
    return [*argv, "--log-level", "warning", "--graceful-timeout", "5"]


def celery_argv(app: str, concurrency: int, queues: str | None = None) -> list[str]:
    argv = [str(BIN / "celery"), "-A", app, "worker", "--loglevel=WARNING"]
    argv += [f"--concurrency={concurrency}"]
    if queues:
        argv += ["-Q", queues]
    return argv
