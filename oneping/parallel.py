"""Slow network calls side by side, outside any transaction, with results in groups.

A task that carries several deliveries (a message's first wave, an event's receivers)
would make each wait for the others' servers if it sent them one after another; a few
threads per worker process send them at once. The threads only talk to the network: the
database work stays in the task's own thread (Django's connections are per thread), and
results come back in groups so that several can be recorded in one transaction.
"""

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Threads per worker process. They wait on providers' servers, not the CPU: a batch of
# rows (oneping.outbox.CLAIM_BATCH) is two rounds of them.
THREADS = 16
# Once a call ended, results that follow within QUIET_SECONDS of each other join its
# group, for at most GRACE_SECONDS; a slower server's result comes in a later group. The
# group is recorded at once: outcomes held back longer would be sent again if the worker
# died meanwhile (their sends happened, their records did not).
GRACE_SECONDS = 0.25
QUIET_SECONDS = 0.05

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def _executor() -> ThreadPoolExecutor:
    """One pool per process, made after the fork (prefork children inherit no threads)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="side-by-side")
        _pool_pid = os.getpid()
    return _pool


def side_by_side(
    items: Iterable[Item], call: Callable[[Item], Result]
) -> Iterator[list[tuple[Item, Result]]]:
    """Run `call` on every item at once; yield (item, result) pairs in groups as they end.
    `call` must not raise: turn failures into results."""
    items = list(items)
    if len(items) <= 1:
        if items:
            yield [(items[0], call(items[0]))]
        return
    futures: dict[Future, Item] = {_executor().submit(call, item): item for item in items}
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        deadline = time.monotonic() + GRACE_SECONDS
        while pending and (left := deadline - time.monotonic()) > 0:
            more, pending = wait(
                pending, timeout=min(QUIET_SECONDS, left), return_when=FIRST_COMPLETED
            )
            if not more:
                break
            done |= more
        yield [(futures[future], future.result()) for future in done]
