"""The pacing store (channels_app.pacing.store): GCRA token buckets shared by every worker,
on both stores. Most tests run the store on a fake clock, so they check the arithmetic
exactly; the real-time and cross-process tests check the same rule with generous margins.

The Redis store runs where the cache is Redis (the PostgreSQL + Redis profile:
CACHE_URL=redis://…); the database store runs everywhere (SQLite file or PostgreSQL)."""

import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from channels_app.models import PaceBucket
from channels_app.pacing import store
from tests.faults.processes import ROOT, database_url

REDIS_CACHE = "redis" in django_settings.CACHES["default"]["BACKEND"].lower()
NEEDS_REDIS = pytest.mark.skipif(
    not REDIS_CACHE,
    reason="the Redis store needs CACHE_URL=redis://… (the PostgreSQL + Redis profile sets it)",
)
STORES = ["database", pytest.param("redis", marks=NEEDS_REDIS)]


@pytest.fixture(params=STORES)
def kind(request, settings) -> str:
    """Each test below runs on both stores (the database one needs the test database)."""
    settings.ONEPING_PACING_STORE = request.param
    if request.param == "database":
        request.getfixturevalue("db")
    return request.param


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(store, "clock", fake)
    return fake


def interval(rate: float) -> float:
    """T: what one token costs, ONEPING_PACING_HEADROOM under the published rate."""
    return 1 / (rate * django_settings.ONEPING_PACING_HEADROOM)


def new_key() -> str:
    return f"pace:test:bucket:{uuid.uuid4().hex}"


def assert_within_rate(times: list[float], period: float, burst: int, slack: float) -> None:
    """GCRA's promise: between any two grants i < j, at least (j - i + 1 - burst) tokens'
    time, i.e. never more than `burst` plus what the rate allows in any interval (`slack`
    absorbs the moments between a grant and its timestamp)."""
    times = sorted(times)
    for i, first in enumerate(times):
        for j in range(i + 1, len(times)):
            least = (j - i + 1 - burst) * period - slack
            assert times[j] - first >= least, (
                f"grants {i} and {j} {times[j] - first:.3f} s apart, the rate needs "
                f"{least:.3f} s: {[round(t - times[0], 3) for t in times]}"
            )


def test_a_bucket_gives_its_burst_at_once_then_one_token_every_interval(kind, clock):
    key, rate = new_key(), 5.0
    period = interval(rate)

    assert [store.take([(key, rate, 3)]) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert store.take([(key, rate, 3)]) == pytest.approx(period)

    clock.now += period / 2
    assert store.take([(key, rate, 3)]) == pytest.approx(period / 2)
    clock.now += period / 2
    assert store.take([(key, rate, 3)]) == 0.0
    assert store.take([(key, rate, 3)]) == pytest.approx(period)


def test_takes_granted_as_soon_as_told_are_spaced_one_interval_apart(kind, clock):
    key, rate = new_key(), 2.0
    granted = []
    while len(granted) < 6:
        wait = store.take([(key, rate, 1)])
        if wait == 0:
            granted.append(clock.now)
        else:
            clock.now += wait

    gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
    assert gaps == pytest.approx([interval(rate)] * 5)


def test_the_rate_holds_on_the_real_clock(kind):
    key, rate, burst = new_key(), 10.0, 2
    granted = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        wait = store.take([(key, rate, burst)])
        if wait == 0:
            granted.append(time.time())
        else:
            time.sleep(min(wait, 0.02))

    assert len(granted) > burst  # the bucket refilled at least once
    assert_within_rate(granted, interval(rate), burst, slack=interval(rate) / 2)


def test_a_refused_take_takes_nothing_from_the_other_buckets(kind, clock):
    chat, bot = (new_key(), 1.0, 1), (new_key(), 30.0, 2)

    assert store.take([chat, bot]) == 0.0
    # The chat has no token: the bot's remaining one is not spent on the refusal.
    assert store.take([chat, bot]) == pytest.approx(interval(1.0))
    assert store.take([bot]) == 0.0
    assert store.take([bot]) > 0


def test_the_wait_is_the_longest_of_the_buckets(kind, clock):
    slow, fast = (new_key(), 1.0, 1), (new_key(), 10.0, 1)
    store.take([slow])
    store.take([fast])

    assert store.take([fast, slow]) == pytest.approx(interval(1.0))


def test_a_pause_holds_every_token_until_it_ends_and_the_later_pause_wins(kind, clock):
    paused, other = new_key(), new_key()
    store.pause([paused], 10.0)
    store.pause([paused], 2.0)

    assert store.take([(paused, 100.0, 5)]) == pytest.approx(10.0)
    assert store.take([(other, 100.0, 5), (paused, 100.0, 5)]) == pytest.approx(10.0)
    assert store.take([(other, 100.0, 1)]) == 0.0  # the refusal above took nothing

    clock.now += 10.0
    assert store.take([(paused, 100.0, 5)]) == 0.0


def test_a_take_of_several_tokens_costs_their_time(kind, clock):
    roomy, key = new_key(), new_key()
    period = interval(5.0)

    # A bucket of 5: three tokens, then three more must wait for one token to come back.
    assert store.take([(roomy, 5.0, 5)], cost=3) == 0.0
    assert store.take([(roomy, 5.0, 5)], cost=3) == pytest.approx(period)
    # Costlier than the bucket holds (a long SMS at one a second): it goes when the bucket
    # is full, and the next waits for all its tokens.
    assert store.take([(key, 5.0, 1)], cost=3) == 0.0
    assert store.take([(key, 5.0, 1)]) == pytest.approx(3 * period)


def test_peek_shows_the_next_token_and_the_pause_and_leaves_out_unknown_buckets(kind, clock):
    used, paused, unknown = new_key(), new_key(), new_key()
    store.take([(used, 2.0, 1)])
    store.pause([paused], 30.0)

    state = store.peek([used, paused, unknown])

    assert set(state) == {used, paused}
    assert state[used]["paused_until"] is None
    assert state[used]["next_token_at"] == pytest.approx(clock.now + interval(2.0))
    assert state[paused]["paused_until"] == pytest.approx(clock.now + 30.0)
    assert state[paused]["next_token_at"] == pytest.approx(clock.now + 30.0)

    clock.now += 60.0
    later = store.peek([used, paused])
    assert all(later[key] == {"paused_until": None, "next_token_at": clock.now} for key in later)


def test_a_take_inside_the_claims_transaction_is_kept_with_it(kind, clock, transactional_db):
    key = new_key()
    with transaction.atomic():
        assert store.take([(key, 1.0, 1)]) == 0.0

    assert store.take([(key, 1.0, 1)]) == pytest.approx(interval(1.0))


@NEEDS_REDIS
def test_a_redis_bucket_expires_once_it_would_be_full_again(settings):
    settings.ONEPING_PACING_STORE = "redis"
    key, rate = new_key(), 2.0
    store.take([(key, rate, 1)])
    paused = new_key()
    store.pause([paused], 20.0)

    client = caches["default"]._cache.get_client(None, write=True)
    margin = store._EXPIRY_MARGIN_MS
    assert 0 < client.pttl(key) <= interval(rate) * 1000 + margin + 1
    assert 15_000 < client.pttl(paused) <= 20_000 + margin


def test_the_store_is_redis_when_the_cache_is_unless_a_setting_says(settings):
    settings.ONEPING_PACING_STORE = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert store.backend() == "database"

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/11",
        }
    }
    assert isinstance(caches["default"], RedisCache)
    assert store.backend() == "redis"

    settings.ONEPING_PACING_STORE = "database"
    assert store.backend() == "database"
    settings.ONEPING_PACING_STORE = "memcached"
    with pytest.raises(ImproperlyConfigured):
        store.backend()


def test_the_redis_store_refuses_a_cache_that_is_not_redis(settings):
    settings.ONEPING_PACING_STORE = "redis"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        store.take([(new_key(), 1.0, 1)])


# --- Several processes on one bucket -----------------------------------------------------

# A worker process: set up, say it is ready, wait for the word, then take from one bucket
# as fast as it is let for SECONDS, and print when each token was granted.
HAMMER = """
import json, os, sys, time
import django
django.setup()
from channels_app.models import PaceBucket
from channels_app.pacing import store

key, rate, burst, seconds, folder = sys.argv[1:6]
bucket = (key, float(rate), int(burst))
store.peek([key])  # connected before the start
open(os.path.join(folder, f"ready-{os.getpid()}"), "w").close()
go = os.path.join(folder, "go")
deadline = time.monotonic() + 120
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.01)
end = time.monotonic() + float(seconds)
granted = []
while time.monotonic() < end:
    wait = store.take([bucket])
    if wait == 0:
        granted.append(time.time())
    else:
        time.sleep(min(wait, 0.02))
print(json.dumps(granted))
"""


@pytest.mark.parametrize("kind", STORES)
def test_processes_taking_from_one_bucket_share_its_rate(kind, transactional_db, tmp_path):
    # The SQLite test database is a file (tests/settings.py), so on the embedded default
    # the processes share it as workers share the real one.
    key, rate, burst, processes = new_key(), 5.0, 2, 3
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "ONEPING_TEST_DATA_DIR": str(django_settings.DATA_DIR),
        "DATABASE_URL": database_url(),
        "ONEPING_PACING_STORE": kind,
        "PYTHONUNBUFFERED": "1",
    }
    args = [key, str(rate), str(burst), "3", str(tmp_path)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        deadline = time.monotonic() + 90
        while len(list(tmp_path.glob("ready-*"))) < processes:
            assert time.monotonic() < deadline, "the processes never got ready"
            assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
            time.sleep(0.05)
        Path(tmp_path, "go").touch()
        outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    assert all(w.returncode == 0 for w in workers), [err for _, err in outputs]
    each = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    merged = sorted(t for granted in each for t in granted)
    # The check means something only if the processes did take together.
    assert sum(1 for granted in each if granted) >= 2, each
    assert len(merged) > burst + 2
    assert_within_rate(merged, interval(rate), burst, slack=interval(rate) / 4)


def test_idle_database_buckets_are_forgotten_and_start_again_full(settings, db, clock):
    settings.ONEPING_PACING_STORE = "database"
    idle, busy, paused = new_key(), new_key(), new_key()
    store.take([(idle, 1.0, 1)])
    store.pause([paused], 7200.0)
    clock.now += 3600.0 + interval(1.0) + 1
    store.take([(busy, 1.0, 1)])

    assert store.forget_idle(after=3600.0) == 1
    assert set(PaceBucket.objects.values_list("key", flat=True)) == {busy, paused}
    assert store.take([(idle, 1.0, 1)]) == 0.0
    assert store.take([(idle, 1.0, 1)]) == pytest.approx(interval(1.0))
