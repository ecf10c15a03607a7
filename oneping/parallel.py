"""Slow network calls side by side, outside any transaction, with results in groups.

A task that carries several deliveries (a message's first wave, an event's receivers)
would make each wait for the others' servers if it sent them one after another; a few
threads per worker process send them at once. The threads only talk to the network: the
database work stays in the task's own thread (Django's connections are per thread), and
results come back in groups so that several can be recorded in one transaction.
"""

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Threads per worker process; a task rarely carries more sends than this.
THREADS = 4
# Once the first call of a batch ended, how long to wait for the others so their results
# share one group; a slower server's result comes in a later group.
GRACE_SECONDS = 0.25

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
        if pending:
            more, pending = wait(pending, timeout=GRACE_SECONDS)
            done |= more
        yield [(futures[future], future.result()) for future in done]
