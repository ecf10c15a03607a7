"""Whose CPU was it? Splits the machine's CPU time during a measurement, so a figure taken
while something else hogged the cores can be recognised (this machine is shared, and 2
cores leave no room to hide):

- run: the run's own processes (web, worker, sink, the load generator, pgbench, …) and the
  PostgreSQL backends connected to the run's database;
- services: redis-server and PostgreSQL's own background processes (WAL writer,
  checkpointer, autovacuum…), shared with others but mostly busy with the run's writes
  (other databases' backends are other people's: foreign);
- kernel: interrupts and softirqs (loopback TCP is largely accounted here);
- foreign: everything else — other people's jobs, including ones that started and ended
  during the measurement, and steal (time the hypervisor gave this VM's CPUs to other VMs,
  also reported on its own).
"""

import os
import re
import resource
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SERVICE_NAMES = ("redis-server", "postgres")


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    busy, total, _, _ = _machine()
    return busy, total


def _machine() -> tuple[int, int, int, int]:
    """(busy, total, irq + softirq, steal) jiffies over all CPUs. Guest time is already
    inside user time, so it is left out of the total."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:9]]
    except OSError:
        return 0, 0, 0, 0
    values += [0] * (8 - len(values))
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values), values[5] + values[6], values[7]


def reaped_children_jiffies() -> int:
    """CPU of the harness's children that exited and were waited for (pgbench, a worker
    stopped before the measurement ended), including their own reaped descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int((usage.ru_utime + usage.ru_stime) * CLOCK_TICKS)


# 'postgres: [cluster: ]user database host(port) state' (see PostgreSQL's cluster_name)
_BACKEND = re.compile(r"^postgres: (?:\S+: )?\S+ (\S+) (\S+\(\d+\)|\[local\])")


def _backend_database(pid: int) -> str | None:
    """The database of a PostgreSQL client backend, from its process title
    ('postgres: 15/main: user database 127.0.0.1(5432) idle'); None for other processes."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    match = _BACKEND.match(title)
    return match.group(1) if match else None


def _processes() -> dict[int, tuple[str, int]]:
    """pid → (command name, utime + stime) for every process we may read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        fields = text.rsplit(")", 1)[1].split()
        found[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))  # proc(5) 14, 15
    return found


Pids = Callable[[], Iterable[int]]


def backends_of(database: str) -> set[int]:
    """PostgreSQL client backends serving `database` right now."""
    return {
        pid
        for pid, (name, _) in _processes().items()
        if name.startswith("postgres") and _backend_database(pid) == database
    }


def wait_for_quiet(
    our_pids: Pids, database: str, max_wait: float, threshold: float = 10.0
) -> float:
    """Wait (at most max_wait seconds) for half a second in which other people's processes
    use less than `threshold` % of the machine; return the last foreign share seen."""
    deadline = time.monotonic() + max_wait
    while True:
        with Meter(our_pids, database) as meter:
            time.sleep(0.5)
        foreign = meter.split()["foreign_cpu_pct"]
        if foreign < threshold or time.monotonic() >= deadline:
            return foreign


class Meter:
    """Use as a context manager; afterwards `split()` gives percentages of the machine.

    `our_pids` lists the run's processes; PostgreSQL backends count as the run's when they
    serve `database`. Those come and go (pgbench's end with it), so a thread samples them
    twice a second and a backend gone by the end counts with its last sample."""

    SAMPLE_SECONDS = 0.5

    def __init__(self, our_pids: Pids, database: str):
        self.our_pids = our_pids
        self.database = database
        self.backends: dict[int, int] = {}  # our backends: pid → last jiffies seen
        self._stop = threading.Event()

    def _sample_backends(self) -> None:
        for pid, (name, jiffies) in _processes().items():
            if name.startswith("postgres") and (
                pid in self.backends or _backend_database(pid) == self.database
            ):
                self.backends[pid] = jiffies

    def _sampler(self) -> None:
        while not self._stop.wait(self.SAMPLE_SECONDS):
            self._sample_backends()

    def __enter__(self) -> "Meter":
        self.start_machine = _machine()
        self.start_processes = _processes()
        self.start_reaped = reaped_children_jiffies()
        self._sample_backends()
        self.start_backends = dict(self.backends)
        self._thread = threading.Thread(target=self._sampler, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_backends()
        self.end_machine = _machine()
        end = _processes()
        ours = {os.getpid(), *self.our_pids()}
        self.run = reaped_children_jiffies() - self.start_reaped
        for pid, jiffies in self.backends.items():
            # A backend that started during the measurement counts from zero.
            self.run += max(jiffies - self.start_backends.get(pid, 0), 0)
        self.services = 0
        for pid, (name, jiffies) in end.items():
            if pid in self.backends:
                continue
            used = max(jiffies - self.start_processes.get(pid, ("", 0))[1], 0)
            if pid in ours:
                self.run += used
            elif name.startswith(SERVICE_NAMES) and _backend_database(pid) is None:
                self.services += used  # redis-server, PostgreSQL's own background processes

    def split(self) -> dict[str, float]:
        ends, starts = self.end_machine, self.start_machine
        busy, total, kernel, steal = (end - start for end, start in zip(ends, starts, strict=True))
        if total <= 0:
            return {"machine_cpu_pct": 0.0, "run_cpu_pct": 0.0, "foreign_cpu_pct": 0.0}
        run = min(self.run, busy)
        services = min(self.services, busy - run)
        kernel = min(kernel, busy - run - services)
        share = lambda jiffies: round(jiffies / total * 100, 1)  # noqa: E731
        return {
            "machine_cpu_pct": share(busy),
            "run_cpu_pct": share(run),
            "services_cpu_pct": share(services),
            "kernel_cpu_pct": share(kernel),
            # Everything else, including time the hypervisor gave these CPUs to other VMs
            # (steal, also shown on its own).
            "foreign_cpu_pct": share(busy - run - services - kernel),
            "steal_cpu_pct": share(steal),
        }
