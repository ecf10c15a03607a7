"""How many pacing takes a second one process gets from each store (channels_app.pacing).

Every take is granted (a rate no delivery reaches), so each call is the whole
check-and-update: one Lua script on Redis, one transaction on the database. Two shapes:
one bucket (a Slack webhook) and two (a Telegram chat and its bot). Uses the configured
database (migrated: `manage.py migrate`) and cache; the Redis store runs only when the
cache is Redis. Prints one JSON line.

    DATABASE_URL=… CACHE_URL=redis://127.0.0.1:6379/9 python bench/pacing_store.py [SECONDS]
"""

import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneping.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.cache.backends.redis import RedisCache  # noqa: E402
from django.db import connection  # noqa: E402

from channels_app.models import PaceBucket  # noqa: E402
from channels_app.pacing import store  # noqa: E402

RATE = 1e9  # never refuses: every call does the full update


def calls_per_second(buckets: int, seconds: float) -> float:
    run = uuid.uuid4().hex
    spec = [(f"pace:bench:{run}:{n}", RATE, 1) for n in range(buckets)]
    store.take(spec)  # the rows or keys exist, the connection is open
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        store.take(spec)
        calls += 1
    PaceBucket.objects.filter(key__startswith=f"pace:bench:{run}:").delete()
    return calls / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    kinds = ["database"] + (["redis"] if isinstance(caches["default"], RedisCache) else [])
    results = {"database_vendor": connection.vendor}
    for kind in kinds:
        settings.ONEPING_PACING_STORE = kind
        for buckets in (1, 2):
            results[f"{kind}_{buckets}_bucket_takes_per_s"] = round(
                calls_per_second(buckets, seconds)
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
