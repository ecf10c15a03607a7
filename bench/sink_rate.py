"""The ceiling of a delivery's HTTP call: `requests.post` to the sink, nothing else.

Like a transport it posts through one requests.Session (its connection kept alive, as
oneping.http does per thread) with a timeout and no redirects. PROCESSES processes post
for SECONDS seconds (or MAX posts each), the same number of processes as the Celery
worker's pool; prints one JSON line.

    python bench/sink_rate.py URL PROCESSES SECONDS [MAX]
"""

import json
import sys
import time
from multiprocessing import Pool

import requests

PAYLOAD = {"text": "bench message"}


def _post_for(args: tuple[str, float, int]) -> tuple[int, int]:
    url, seconds, limit = args
    ok = failed = 0
    session = requests.Session()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and ok + failed < limit:
        try:
            response = session.post(url, json=PAYLOAD, timeout=(5, 15), allow_redirects=False)
        except requests.RequestException:
            failed += 1
            continue
        if response.status_code == 200:
            ok += 1
        else:
            failed += 1
    return ok, failed


def main() -> None:
    url, processes, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
    started = time.monotonic()
    with Pool(processes) as pool:
        counts = pool.map(_post_for, [(url, seconds, limit)] * processes)
    elapsed = time.monotonic() - started
    ok = sum(c[0] for c in counts)
    failed = sum(c[1] for c in counts)
    print(
        json.dumps(
            {
                "ok": ok,
                "failed": failed,
                "seconds": round(elapsed, 2),
                "posts_per_s": round(ok / elapsed, 1),
                "processes": processes,
            }
        )
    )


if __name__ == "__main__":
    main()
