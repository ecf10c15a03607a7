"""The token buckets' store, shared by every worker process (channels_app.pacing).

Each bucket is GCRA, the generic cell rate algorithm (https://brandur.org/rate-limiting,
https://en.wikipedia.org/wiki/Generic_cell_rate_algorithm): its whole state is one time,
the TAT ("theoretical arrival time": when the bucket is full again), plus a pause. A token
costs T = 1 / (rate * ONEPING_PACING_HEADROOM) seconds; a take of `cost` tokens is allowed
once TAT + min(cost, burst)*T - burst*T <= now, and moves TAT to max(TAT, now) + cost*T.
So `burst` tokens may go at once, then one every T; a take costlier than the bucket holds
(a text of many segments in a burst-1 bucket) goes when the bucket is full and leaves it
in debt.

A delivery takes from several buckets at once (a chat's and its bot's), all or nothing: a
refused take leaves every bucket as it was, so waiting on a busy chat never spends the
bot's tokens.

Two stores, chosen per call (`backend()`, so tests can switch settings):
- "redis": one Lua script per call checks and updates every bucket atomically, on the
  Redis server's clock (TIME), so the workers' clock skew cannot break a rate. A bucket's
  key expires once the bucket is full and unpaused again: an idle bucket needs no state.
- "database": a PaceBucket row per bucket, locked in key order inside one transaction
  (PostgreSQL: SELECT … FOR UPDATE; SQLite: the IMMEDIATE transaction already holds the
  write lock, oneping/settings.py). Times are the workers' clocks.
"""

import time
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

# Tests set a fake clock (epoch seconds). None: the store's own, i.e. the Redis server's
# TIME, or this worker's time.time() for the database.
clock: Callable[[], float] | None = None

# A Redis key outlives the moment its bucket is full and unpaused again by this much: its
# state is of no use after that moment, the margin only absorbs rounding and expiry delays.
_EXPIRY_MARGIN_MS = 5000


def backend() -> str:
    """ONEPING_PACING_STORE, or when unset: redis if the default cache is Redis (shared
    by every process), else the database (the embedded default's cache is per process)."""
    chosen = settings.ONEPING_PACING_STORE
    if chosen == "":
        return "redis" if isinstance(caches["default"], RedisCache) else "database"
    if chosen not in ("redis", "database"):
        raise ImproperlyConfigured(
            f'ONEPING_PACING_STORE must be "redis", "database" or empty, not {chosen!r}'
        )
    return chosen


def take(buckets: Sequence[tuple[str, float, int]], cost: float = 1.0) -> float:
    """Take `cost` tokens from every bucket (key, rate, burst) if each has them: 0.0. Else
    take none and return the seconds until all would have them (pauses included)."""
    if not buckets:
        return 0.0
    specs = [(key, _interval(rate), max(int(burst), 1)) for key, rate, burst in buckets]
    if backend() == "redis":
        return _redis_take(specs, cost)
    return _database_take(specs, cost)


def pause(keys: Sequence[str], seconds: float) -> None:
    """No token from these buckets for `seconds` from now (a provider's 429 Retry-After,
    or a rate-limit window it announced as used up)."""
    if not keys or seconds <= 0:
        return
    if backend() == "redis":
        _redis_pause(keys, seconds)
    else:
        _database_pause(keys, seconds)


def peek(keys: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Each bucket's state for people: {"paused_until": epoch seconds or None,
    "next_token_at": epoch seconds (now or later)}; unknown keys are left out.

    The store keeps no rate, so "next_token_at" is when the bucket is full again (and
    unpaused): exact for a burst-1 bucket; a bigger bucket may give a token sooner. A
    Redis bucket idle long enough is unknown (its key expired)."""
    if not keys:
        return {}
    if backend() == "redis":
        now, states = _redis_peek(keys)
    else:
        now, states = _database_peek(keys)
    return {
        key: {
            "paused_until": paused if paused > now else None,
            "next_token_at": max(now, tat, paused),
        }
        for key, (tat, paused) in states.items()
    }


def forget_idle(after: float = 3600.0) -> int:
    """Delete the database store's rows of buckets full and unpaused for `after` seconds
    (one a chat or phone number: they add up); a bucket without a row is a full one, so
    nothing changes. The Redis store needs this never: its keys expire. Returns how many."""
    if backend() == "redis":
        return 0
    from channels_app.models import PaceBucket

    # A take holding a row makes the delete wait and look again at the row it left (and a
    # take whose row went meanwhile inserts it again: _locked_rows).
    since = _worker_now() - after
    deleted, _ = PaceBucket.objects.filter(tat__lt=since, paused_until__lt=since).delete()
    return deleted


def _interval(rate: float) -> float:
    """T: seconds a token costs, kept ONEPING_PACING_HEADROOM under the published rate."""
    if rate <= 0:
        raise ValueError(f"a pacing rate must be positive, not {rate!r}")
    return 1.0 / (rate * settings.ONEPING_PACING_HEADROOM)


def _gcra(
    now: float, tat: float, paused: float, interval: float, burst: int, cost: float
) -> tuple[float, float]:
    """One bucket's (allowed at, new TAT) for a take of `cost` at `now`. The Lua script
    below is the same arithmetic, line for line."""
    tat = max(tat, now)
    increment = interval * cost
    allowed_at = max(tat - max(burst * interval - increment, 0.0), paused)
    return allowed_at, tat + increment


# --- Database ------------------------------------------------------------------------


def _database_take(specs: list[tuple[str, float, int]], cost: float) -> float:
    with transaction.atomic():
        rows = _locked_rows([key for key, _, _ in specs])
        now = _worker_now()
        wait, updates = 0.0, []
        for key, interval, burst in specs:
            row = rows[key]
            allowed_at, row.tat = _gcra(now, row.tat, row.paused_until, interval, burst, cost)
            wait = max(wait, allowed_at - now)
            updates.append(row)
        if wait > 0:
            return wait  # nothing saved: a refused take changes no bucket
        _save(updates, ["tat"])
    return 0.0


def _database_pause(keys: Sequence[str], seconds: float) -> None:
    with transaction.atomic():
        rows = _locked_rows(keys)
        until = _worker_now() + seconds
        for row in rows.values():
            row.paused_until = max(row.paused_until, until)  # the later pause wins
        _save(list(rows.values()), ["paused_until"])


def _database_peek(keys: Sequence[str]) -> tuple[float, dict[str, tuple[float, float]]]:
    from channels_app.models import PaceBucket

    rows = PaceBucket.objects.filter(key__in=list(keys)).values_list("key", "tat", "paused_until")
    return _worker_now(), {key: (tat, paused) for key, tat, paused in rows}


def _locked_rows(keys: Sequence[str]) -> dict[str, Any]:
    """Every key's PaceBucket row, created if missing and locked until the transaction
    ends. Missing rows are inserted (in key order) before any row is locked, so a process
    creating a bucket never waits for one holding locks, and locks are taken in key order:
    no two takes can deadlock. A row deleted meanwhile (idle rows may be cleaned up) is
    inserted again."""
    from channels_app.models import PaceBucket

    wanted = sorted(set(keys))
    for _ in range(3):
        PaceBucket.objects.bulk_create(
            [PaceBucket(key=key) for key in wanted], ignore_conflicts=True
        )
        rows = {
            row.key: row
            for row in PaceBucket.objects.select_for_update().filter(key__in=wanted).order_by("key")
        }
        if len(rows) == len(wanted):
            return rows
    raise RuntimeError("pacing buckets kept disappearing while being locked")


def _save(rows: list[Any], fields: list[str]) -> None:
    from channels_app.models import PaceBucket

    now = timezone.now()
    for row in rows:
        row.updated_at = now  # bulk_update does not apply auto_now
    PaceBucket.objects.bulk_update(rows, [*fields, "updated_at"])


def _worker_now() -> float:
    return clock() if clock is not None else time.time()


# --- Redis ---------------------------------------------------------------------------

# Each bucket is a hash {tat, paused}. Numbers are written as "%.17g", every bit of the
# double: Redis turns a bare Lua number into 14 significant digits (0.1 ms at today's
# epoch), and a wait rounded to zero would read as a granted take.
# Returned numbers are strings too (Redis truncates Lua numbers to integers).
# Scripts that call TIME and then write are fine since Redis 5 replicates their effects,
# not the script (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/).
_LUA_NOW = """
local now
if ARGV[1] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local function number(value)
  return value and tonumber(value) or 0
end
local function expire(key, tat, paused)
  local ms = math.ceil((math.max(tat, paused) - now) * 1000) + tonumber(ARGV[2])
  redis.call("PEXPIRE", key, math.max(ms, 1))
end
"""

# KEYS: the buckets. ARGV: now ("": the server's), expiry margin (ms), cost, then each
# bucket's interval and burst.
_TAKE = (
    _LUA_NOW
    + """
local cost = tonumber(ARGV[3])
local wait = 0
local tats, pauses = {}, {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 + 2 * i])
  local burst = tonumber(ARGV[3 + 2 * i])
  local state = redis.call("HMGET", key, "tat", "paused")
  local tat = math.max(number(state[1]), now)
  local increment = interval * cost
  local allowed_at = math.max(tat - math.max(burst * interval - increment, 0), number(state[2]))
  wait = math.max(wait, allowed_at - now)
  tats[i], pauses[i] = tat + increment, number(state[2])
end
if wait > 0 then
  return string.format("%.17g", wait)
end
for i, key in ipairs(KEYS) do
  redis.call("HSET", key, "tat", string.format("%.17g", tats[i]))
  expire(key, tats[i], pauses[i])
end
return "0"
"""
)

# KEYS: the buckets. ARGV: now, expiry margin, seconds.
_PAUSE = (
    _LUA_NOW
    + """
local until_ = now + tonumber(ARGV[3])
for _, key in ipairs(KEYS) do
  local state = redis.call("HMGET", key, "tat", "paused")
  local paused = math.max(number(state[2]), until_)
  redis.call("HSET", key, "paused", string.format("%.17g", paused))
  expire(key, number(state[1]), paused)
end
return "0"
"""
)

# KEYS: the buckets. ARGV: now, expiry margin. Returns now, then tat and paused per key
# (false for an unknown key).
_PEEK = (
    _LUA_NOW
    + """
local out = {string.format("%.17g", now)}
for i, key in ipairs(KEYS) do
  local state = redis.call("HMGET", key, "tat", "paused")
  if state[1] or state[2] then
    out[#out + 1] = string.format("%.17g", number(state[1]))
    out[#out + 1] = string.format("%.17g", number(state[2]))
  else
    out[#out + 1] = false
    out[#out + 1] = false
  end
end
return out
"""
)

_scripts: dict[str, Any] = {}


def _script(source: str) -> tuple[Any, Any]:
    """The script (redis-py's Script: EVALSHA, and EVAL once more after a server restart
    forgot it) and the default cache's Redis client to run it with."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        raise ImproperlyConfigured(
            'ONEPING_PACING_STORE="redis" needs a Redis cache: CACHE_URL=redis://…'
        )
    # The primary (write=True): the scripts write. Django's RedisCache keeps the pool.
    client = cache._cache.get_client(None, write=True)
    if source not in _scripts:
        # A Script is only its text and SHA: each call passes the client of its thread.
        _scripts[source] = client.register_script(source)
    return _scripts[source], client


def _redis_call(source: str, keys: Sequence[str], *args: float | int | str) -> Any:
    script, client = _script(source)
    now = "" if clock is None else repr(float(clock()))
    return script(keys=list(keys), args=[now, _EXPIRY_MARGIN_MS, *args], client=client)


def _redis_take(specs: list[tuple[str, float, int]], cost: float) -> float:
    args: list[float | int] = [cost]
    for _, interval, burst in specs:
        args += [repr(interval), burst]
    return float(_redis_call(_TAKE, [key for key, _, _ in specs], *args))


def _redis_pause(keys: Sequence[str], seconds: float) -> None:
    _redis_call(_PAUSE, keys, repr(float(seconds)))


def _redis_peek(keys: Sequence[str]) -> tuple[float, dict[str, tuple[float, float]]]:
    now, *values = _redis_call(_PEEK, keys)
    states = {}
    for index, key in enumerate(keys):
        tat, paused = values[2 * index], values[2 * index + 1]
        if tat is not None:
            states[key] = (float(tat), float(paused))
    return float(now), states
