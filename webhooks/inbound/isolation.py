"""Rendering an event's templates in a forked child with a memory ceiling and a wall clock.

The checks in templates.py look at sizes before and after each operation, but several
operations allocate their whole result in one C call before any check can see it
(`sep.join(list)`, `s.replace("", big)`, `"%(k)999999999s" % …`, `"{0:>{1}}".format(…)`,
chains of `~`): with a 1 MiB payload one of them asks for gigabytes, and the worker renders
templates for every account. So on Linux each event's templates render in a child made
with os.fork() (Celery's prefork pool children are daemonic, and multiprocessing refuses to
start children of those), whose address space may grow by at most
ONEPING_TEMPLATE_MEMORY_BUDGET_MB over what it inherited (RLIMIT_AS and RLIMIT_DATA, see
setrlimit(2)): an allocation past it fails with MemoryError in the child, never in the
worker. The parent waits at most ONEPING_TEMPLATE_TIMEOUT_SECONDS, then SIGKILLs it: one C
call is not interrupted by templates.py's time checks, a signal is.

The child inherits the worker's database and broker sockets and the locks other threads
held at the fork, so it touches none of them: it renders pure data (the payload and the
sources it was given), writes one JSON answer to a pipe and leaves with os._exit(), which
runs no atexit handler, finalizer or logging. gc.freeze() keeps the collector off the
inherited objects (a finalizer there could write to an inherited connection).

Elsewhere than Linux (no fork, or no /proc to read the address space from) the templates
render in the worker with templates.py's checks only.
"""

import contextlib
import functools
import gc
import json
import os
import resource
import select
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from webhooks.inbound import templates
from webhooks.inbound.templates import TEMPLATE_TIMEOUT, TEMPLATE_TOO_LARGE, RenderError

ISOLATED = sys.platform == "linux" and hasattr(os, "fork")
# Signals Celery's worker handles in Python: the child must die of them, not run the
# worker's shutdown code (a warm shutdown signals the whole process group).
_RESET_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCHLD")
_MIB = 1024 * 1024
# Python 3.12+ warns on fork() in a process with threads (a worker has some): the child
# runs only the render (pure Python, no lock another thread may hold) and os._exit().
warnings.filterwarnings(
    "ignore", message=r".*use of fork\(\) may lead to deadlocks", category=DeprecationWarning
)
_MAX_FD = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024


@dataclass
class ChildOutcome:
    """What a render child gave back (outputs, or an error code and message) and its peak
    resident size from wait4(2), for the memory tests."""

    outputs: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    message: str = ""
    max_rss_kib: int = 0
    killed: bool = False  # by the parent, at the wall-time limit


def render_all(sources: dict[str, str], variables: dict[str, Any]) -> dict[str, str]:
    """Each named template rendered with `variables`; raises RenderError (with .code
    template_too_large or template_timeout when a limit of the child stopped it)."""
    return isolated(functools.partial(_render_sources, sources, variables))


def isolated(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`work()` (pure data in, JSON-able data out, RenderError for a customer's mistake)
    run in a child under the limits: one fork however many templates it renders."""
    if not ISOLATED:
        return work()
    outcome = run_work_in_child(
        work,
        budget_bytes=int(settings.ONEPING_TEMPLATE_MEMORY_BUDGET_MB * _MIB),
        timeout=float(settings.ONEPING_TEMPLATE_TIMEOUT_SECONDS),
    )
    if outcome.message:
        raise RenderError(outcome.message, code=outcome.code)
    return outcome.outputs


def _render_sources(sources: dict[str, str], variables: dict[str, Any]) -> dict[str, str]:
    return {name: templates.render(source, variables) for name, source in sources.items()}


def run_in_child(
    sources: dict[str, str], variables: dict[str, Any], *, budget_bytes: int, timeout: float
) -> ChildOutcome:
    """Render the templates in a child under the limits."""
    work = functools.partial(_render_sources, sources, variables)
    return run_work_in_child(work, budget_bytes=budget_bytes, timeout=timeout)


def run_work_in_child(
    work: Callable[[], dict[str, Any]], *, budget_bytes: int, timeout: float
) -> ChildOutcome:
    """Fork, run `work` in the child under the limits, read its answer, reap it."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: nothing below may return or raise
        try:
            os.close(read_end)
            _child(write_end, work, budget_bytes)
        finally:
            os._exit(0)
    os.close(write_end)
    answer, timed_out = b"", True  # until read: a parent interrupted while waiting kills
    try:
        answer, timed_out = _read_answer(read_end, time.monotonic() + timeout)
    finally:
        os.close(read_end)
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, _, usage = os.wait4(pid, 0)
    outcome = ChildOutcome(max_rss_kib=usage.ru_maxrss, killed=timed_out)
    if timed_out:
        outcome.code = TEMPLATE_TIMEOUT
        outcome.message = f"the templates took longer than {timeout:g} s"
        return outcome
    try:
        parsed = json.loads(answer)
    except ValueError:
        # Died without an answer: an allocation past the limit that C code could not turn
        # into MemoryError (abort), or the kernel's OOM killer.
        parsed = {"error": {"code": TEMPLATE_TOO_LARGE, "message": _too_large(budget_bytes)}}
    if "error" in parsed:
        outcome.code = parsed["error"]["code"]
        outcome.message = parsed["error"]["message"]
    else:
        outcome.outputs = parsed["outputs"]
    return outcome


def _too_large(budget: int) -> str:
    return f"the templates need more than {budget / _MIB:g} MiB of memory"


def _read_answer(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe, or (b"", True) at the deadline."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"", True
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return b"", True
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def _child(fd: int, work: Callable[[], dict[str, Any]], budget: int) -> None:
    gc.freeze()
    # Only stdio and the answer pipe stay open: the child cannot write to the worker's
    # database or broker connections, nor hold another render's pipe open.
    os.closerange(3, fd)
    os.closerange(fd + 1, _MAX_FD)
    for name in _RESET_SIGNALS:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    _limit_memory(budget)
    try:
        answer = {"outputs": work()}
    except RenderError as exc:
        message = _too_large(budget) if str(exc) == templates.OUT_OF_MEMORY else str(exc)
        answer = {"error": {"code": exc.code, "message": message}}
    except MemoryError:
        answer = {"error": {"code": TEMPLATE_TOO_LARGE, "message": _too_large(budget)}}
    except BaseException:  # a bug of ours: the answer is all the parent can get
        answer = {"error": {"code": None, "message": "the template failed"}}
    data = json.dumps(answer).encode()
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data) :]


def _limit_memory(budget: int) -> None:
    """RLIMIT_AS: the address space now plus the budget; RLIMIT_DATA: the private writable
    memory now plus the budget (Linux counts anonymous mmaps in it since 4.7)."""
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/statm", "rb") as statm:
        # size resident shared text lib data dt, in pages (proc(5))
        fields = statm.read().split()
    address_space, data = int(fields[0]) * page, int(fields[5]) * page
    for limit, now in ((resource.RLIMIT_AS, address_space), (resource.RLIMIT_DATA, data)):
        _, hard = resource.getrlimit(limit)
        ceiling = now + budget
        if hard != resource.RLIM_INFINITY:
            ceiling = min(ceiling, hard)
        resource.setrlimit(limit, (ceiling, ceiling))
    # A killed child writes no core file of the worker's memory.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
