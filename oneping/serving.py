"""How the web tier runs: processes, threads, and the database connections they may hold.

gunicorn's config (oneping/gunicorn_conf.py) and the settings' connection budget both read
these, so the server and the arithmetic that guards PostgreSQL agree. Nothing here loads
Django: gunicorn's master reads it before any application code.
"""

import os

import environ
from django.core.exceptions import ImproperlyConfigured

from oneping.env import env_int, env_str

# Cache backends whose incr() is one atomic operation on a server every process talks to.
# The per-key rate limit counts with incr() (accounts/throttling.py): on a per-process
# cache (LocMem) each gunicorn process would count alone, multiplying the limit; on the
# file or database caches incr() is a read followed by a write, so concurrent requests
# lose counts.
SHARED_CACHE_BACKENDS = frozenset({"RedisCache", "PyMemcacheCache", "PyLibMCCache"})

# Each thread holds at most one connection at a time, so a pool larger than the thread
# count never helps; the default is exactly one connection per thread.
DEFAULT_THREADS = 4


def cache_is_shared() -> bool:
    url = env_str("CACHE_URL")
    if not url:
        return False
    backend = environ.Env.cache_url_config(url)["BACKEND"]
    return backend.rsplit(".", 1)[-1] in SHARED_CACHE_BACKENDS


def web_processes() -> int:
    """WEB_CONCURRENCY gunicorn processes (default: one per core), but exactly one when the
    cache is per process: threads of one process share its memory cache, so limits stay
    exact on the embedded default."""
    if not cache_is_shared():
        requested = env_int("WEB_CONCURRENCY", 1)
        if requested != 1:
            raise ImproperlyConfigured(
                f"WEB_CONCURRENCY={requested} needs a cache every process shares: without "
                "CACHE_URL=redis://… each process would count rate limits on its own. Set "
                "CACHE_URL, or leave WEB_CONCURRENCY unset (one process, WEB_THREADS threads)."
            )
        return 1
    return max(1, env_int("WEB_CONCURRENCY", os.cpu_count() or 1))


def web_threads() -> int:
    return max(1, env_int("WEB_THREADS", DEFAULT_THREADS))


def worker_concurrency() -> int:
    """Child processes of a Celery worker (each holds one persistent connection)."""
    return max(1, env_int("WORKER_CONCURRENCY", 2))


def connection_budget() -> int:
    """PostgreSQL connections this host's processes may hold together; PostgreSQL's default
    max_connections is 100, and psql, migrations and monitoring need some."""
    return env_int("DATABASE_MAX_CONNECTIONS", 80)


BEAT_CONNECTIONS = 1


def pool_sizes() -> tuple[int, int]:
    """(min, max) PostgreSQL connections of each web process's pool.

    The default max is one per thread, lowered to what the budget leaves each process after
    the workers and beat (threads then wait for a connection instead of exceeding the
    budget): a many-core host starts with the defaults rather than being refused.
    """
    max_size = env_int("DATABASE_POOL_MAX_SIZE", 0)
    if max_size < 1:
        share = (connection_budget() - worker_concurrency() - BEAT_CONNECTIONS) // web_processes()
        max_size = max(1, min(web_threads(), share))
    min_size = min(max_size, max(0, env_int("DATABASE_POOL_MIN_SIZE", 2)))
    return min_size, max_size


def check_connection_budget() -> None:
    """Refuse to start when this host's processes could open more PostgreSQL connections
    than the budget: past PostgreSQL's max_connections every process, psql included, is
    refused with "sorry, too many clients already"."""
    processes = web_processes()
    _, per_process = pool_sizes()
    web = processes * per_process
    workers = worker_concurrency()
    total = web + workers + BEAT_CONNECTIONS
    budget = connection_budget()
    if total > budget:
        raise ImproperlyConfigured(
            f"Up to {total} PostgreSQL connections: web {processes} processes * "
            f"{per_process} pooled connections (WEB_CONCURRENCY * DATABASE_POOL_MAX_SIZE) = "
            f"{web}, + worker {workers} (WORKER_CONCURRENCY) + beat {BEAT_CONNECTIONS}, over "
            f"DATABASE_MAX_CONNECTIONS={budget}. Lower WEB_CONCURRENCY or "
            "DATABASE_POOL_MAX_SIZE, or raise DATABASE_MAX_CONNECTIONS (keep it under "
            "PostgreSQL's max_connections)."
        )
