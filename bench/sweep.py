"""`--sweep`: choose the web server's settings. The trivial view and /send, saturated and
at fixed rates, under several gunicorn worker/thread counts.
"""

import os

from bench import loadgen
from bench.phases import HOST, saturate_metered, send
from bench.stack import StackError

# (workers, threads); 1 thread = the sync worker. BENCH_SWEEP=2x4,4x4 picks others.
SWEEP = [(3, 1), (5, 1), (2, 4), (2, 8), (4, 4), (4, 8)]


def settings() -> list[tuple[int, int]]:
    chosen = os.environ.get("BENCH_SWEEP", "")
    if not chosen:
        return SWEEP
    return [tuple(int(n) for n in item.split("x")) for item in chosen.split(",")]


def _sweep_once(run, workers: int, threads: int) -> dict:
    run.stack.stop("web")
    run.workers, run.threads = workers, threads
    run.start_web()
    raw = run.request("GET", "/api/v1/account", run.fresh_key(run.tenant))
    loadgen.saturate(
        HOST, run.web_port, lambda i: raw, connections=run.connections, duration=run.scale.warmup_s
    )
    raw = run.request("GET", "/api/v1/account", run.fresh_key(run.tenant))
    trivial = saturate_metered(run, run.web_port, lambda i: raw, run.scale.saturate_s, 200)
    run.results["send"] = {}
    send(run)
    sent = run.results["send"]
    return {
        "workers": workers,
        "threads": threads,
        "trivial_per_s": trivial["ok_per_s"],
        "send_per_s": sent["saturate"]["ok_per_s"],
        "send_8_accounts_per_s": sent["saturate_spread"]["ok_per_s"],
        "send_p99_50_ms": sent["fixed_50"]["p99_ms"],
        "send_p99_80_ms": sent["fixed_80"]["p99_ms"],
        "foreign_cpu_pct": max(
            trivial["foreign_cpu_pct"],
            *(sent[k]["foreign_cpu_pct"] for k in ("saturate", "saturate_spread", "fixed_50")),
        ),
    }


def sweep(run) -> None:
    """Trivial view and /send under several gunicorn settings, two rounds in opposite
    orders; each setting keeps its best figures (other people's jobs only ever slow a
    measurement down, so the best is the least disturbed)."""
    configs = settings()
    rounds: dict[tuple[int, int], list[dict]] = {config: [] for config in configs}
    for order in (configs, configs[::-1]):
        for workers, threads in order:
            try:
                row = _sweep_once(run, workers, threads)
            except (StackError, RuntimeError) as exc:
                row = {"workers": workers, "threads": threads, "error": str(exc)[:200]}
            rounds[(workers, threads)].append(row)
            print(f"   {row}", flush=True)
    best = []
    for (workers, threads), rows in rounds.items():
        good = [row for row in rows if "error" not in row]
        if not good:
            best.append(rows[-1])
            continue
        pick = lambda key, fn, good=good: fn(r[key] for r in good if r[key] is not None)  # noqa: E731
        best.append(
            {
                "workers": workers,
                "threads": threads,
                "trivial_per_s": pick("trivial_per_s", max),
                "send_per_s": pick("send_per_s", max),
                "send_8_accounts_per_s": pick("send_8_accounts_per_s", max),
                "send_p99_50_ms": pick("send_p99_50_ms", min),
                "send_p99_80_ms": pick("send_p99_80_ms", min),
                "foreign_cpu_pct": pick("foreign_cpu_pct", min),
            }
        )
    run.results["sweep"] = {"rounds": rounds_list(rounds), "best": best}
    print("\n   workers threads  trivial/s  send/s  send 8 acct/s  p99@50% p99@80%  other CPU")
    for row in best:
        if "error" in row:
            print(f"   {row['workers']:>7} {row['threads']:>7}  {row['error']}")
            continue
        print(
            f"   {row['workers']:>7} {row['threads']:>7}  {row['trivial_per_s']:>9.0f}"
            f"  {row['send_per_s']:>6.0f}  {row['send_8_accounts_per_s']:>13.0f}"
            f"  {row['send_p99_50_ms']:>7.1f} {row['send_p99_80_ms']:>7.1f}"
            f"  {row['foreign_cpu_pct']:>8.1f} %"
        )


def rounds_list(rounds: dict) -> list[dict]:
    return [row for rows in rounds.values() for row in rows]
