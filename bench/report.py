"""The figures and ratios of a run, and the table printed at its end.

python -m bench.report bench/results/<timestamp>.json     # print a stored run again
"""

import json
import sys
from typing import Any


def _get(results: dict, *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def _max(*values):
    present = [v for v in values if v is not None]
    return max(present) if present else None


NOISY_PCT = 15.0  # CPU taken by processes outside the run above which a figure is suspect

TRIVIAL = ("limits", "trivial_view", "ok_per_s")
LOG_PAGES = (
    ("log", "first_page", "p95_ms"),
    ("log", "filtered", "p95_ms"),
    ("log", "first_page_behind_neighbour", "p95_ms"),
)
# The same ratios measured in alternating slices (phases.paired): when a run has them, the
# report's ratio is their median, and the far-apart figures' quotient is shown beside it.
PAIRED = {
    "send accepted/s ÷ trivial-view/s": "send",
    "batch (100) messages/s ÷ send accepted/s": "batch",
    "inbound ack/s ÷ trivial-view/s": "inbound",
    "deliveries/s ÷ Celery no-op/s": "drain",
}
# name, comparison, target, numerator (or the worst of several), denominator
TARGETS = [
    ("send accepted/s ÷ trivial-view/s", "ge", 0.5, [("send", "saturate", "ok_per_s")], TRIVIAL),
    ("send p99 at 50 % load (ms)", "lt", 50.0, [("send", "fixed_50", "p99_ms")], None),
    # Issue #22: accepting through batches of 100 at least 6 times faster than one by one.
    ("batch (100) messages/s ÷ send accepted/s", "ge", 6.0,
     [("batch", "saturate", "messages_per_s")], ("send", "saturate", "ok_per_s")),
    ("inbound ack/s ÷ trivial-view/s", "ge", 0.7, [("inbound", "saturate", "ok_per_s")], TRIVIAL),
    ("inbound p99 at 50 % load (ms)", "lt", 30.0, [("inbound", "fixed_50", "p99_ms")], None),
    ("deliveries/s ÷ Celery no-op/s", "ge", 0.5, [("drain", "deliveries", "per_s")],
     ("limits", "celery_noop", "per_s")),
    ("message log p95 (ms)", "lt", 100.0, list(LOG_PAGES), None),
    # Pacing holds one destination under the rate its channel allows, whatever the worker
    # could do: never at it (ONEPING_PACING_HEADROOM keeps it 10 % under).
    ("paced deliveries/s ÷ max_per_second", "lt", 1.0, [("paced", "per_s")],
     ("paced", "configured_per_s")),
    # Issue #22: end-to-end at 50 sends/s (bench/latency.py), and memory over a soak.
    ("send → provider p99, PostgreSQL + Redis (ms)", "lt", 250.0,
     [("latency", "redis", "provider", "p99_ms")], None),
    ("status change → webhook p99, PostgreSQL + Redis (ms)", "lt", 500.0,
     [("latency", "redis", "webhook", "p99_ms")], None),
    ("send → provider p99, embedded default (ms)", "le", 1000.0,
     [("latency", "embedded", "provider", "p99_ms")], None),
    ("memory growth over the soak, worst process (%)", "le", 5.0,
     [("memory", "max_growth_pct")], None),
    ("web process RSS after the soak, largest (MiB)", "le", 150.0,
     [("memory", "web_max_rss_mib")], None),
]  # fmt: skip
SYMBOLS = {"ge": "≥", "le": "≤", "lt": "<"}


def ratios(results: dict) -> list[dict]:
    rows = []
    for name, comparison, target, numerators, denominator in TARGETS:
        value = _max(*(_get(results, *path) for path in numerators))
        inputs = [*numerators, *([denominator] if denominator else [])]
        if denominator:
            value = _ratio(value, _get(results, *denominator))
        apart = None
        paired = _get(results, "paired", PAIRED.get(name, ""), "median")
        if paired is not None:
            value, apart = paired, value
            inputs = [("paired", PAIRED[name], "rounds")]
        noisy = value is not None and any(
            (_get(results, *path[:-1], "foreign_cpu_pct") or 0) >= NOISY_PCT for path in inputs
        )
        if value is None:
            verdict, margin = "n/a", None
        elif comparison == "ge":
            verdict = "met" if value >= target else "MISSED"
            margin = round((value - target) / target * 100, 1)
        elif comparison == "le":
            verdict = "met" if value <= target else "MISSED"
            margin = round((target - value) / target * 100, 1)
        else:
            verdict = "met" if value < target else "MISSED"
            margin = round((target - value) / target * 100, 1)
        rows.append(
            {
                "name": name,
                "value": value,
                "target": f"{SYMBOLS[comparison]} {target:g}",
                "verdict": verdict,
                "margin_pct": margin,  # positive: headroom; negative: missed by that much
                "noisy_inputs": noisy,
                "paired": paired is not None,
                "apart": apart,  # numerator ÷ denominator of the phases minutes apart
            }
        )
    return rows


def _fmt(value, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    text = f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
    return f"{text} {unit}".strip()


def _latency(run: dict | None) -> str:
    if not run:
        return "—"
    p50, p95, p99 = (_fmt(run.get(f"{p}_ms")) for p in ("p50", "p95", "p99"))
    return f"p50 {p50} / p95 {p95} / p99 {p99} ms"


def _note(run: dict | None) -> str:
    """Failed answers, and how busy everything else on the machine was meanwhile."""
    if not run:
        return ""
    notes = []
    if "expected_status" in run:
        bad = sum(run.get("unexpected_status", {}).values()) + run.get("errors", 0)
        bad += run.get("not_sent", 0)
        if bad:
            notes.append(f"{bad} non-{run['expected_status']}")
    if run.get("failed"):
        notes.append(f"{run['failed']} failed")
    if run.get("missing"):  # latency probes that never reached the sink
        notes.append(f"{run['missing']} of {run['expected']} never arrived")
    if run.get("replaced"):  # memory: processes that started or ended during the soak
        notes.append(f"{run['replaced']} processes replaced")
    foreign = run.get("foreign_cpu_pct")
    if foreign is not None:
        flag = "  ← noisy" if foreign >= NOISY_PCT else ""
        notes.insert(0, f"other CPU {foreign:4.1f} %{flag}")
    return ", ".join(notes)


# label, path in the results, value key ("latency" for p50/p95/p99), unit
FIGURES = [
    ("limit: bare WSGI (same gunicorn)", ("limits", "bare_wsgi"), "ok_per_s", "req/s"),
    ("limit: GET /api/v1/account", ("limits", "trivial_view"), "ok_per_s", "req/s"),
    ("GET /api/v1/account, busy key's rate limit ({state})",
     ("throttle", "trivial_view_full_window"), "ok_per_s", "req/s"),
    ("limit: pgbench message insert", ("limits", "pgbench_insert"), "tps", "rows/s"),
    ("limit: Celery no-op task", ("limits", "celery_noop"), "per_s", "tasks/s"),
    ("limit: requests.post → sink", ("limits", "sink_posts"), "posts_per_s", "posts/s"),
    ("send: saturation, 1 account", ("send", "saturate"), "ok_per_s", "202/s"),
    ("send: saturation, {accounts} accounts", ("send", "saturate_spread"), "ok_per_s", "202/s"),
    ("send batch of 100: saturation", ("batch", "saturate"), "messages_per_s", "messages/s"),
    ("send batch of 100: latency", ("batch", "saturate"), "latency", ""),
    ("send: at 50 % ({target_rate}/s)", ("send", "fixed_50"), "latency", ""),
    ("send: at 80 % ({target_rate}/s)", ("send", "fixed_80"), "latency", ""),
    ("inbound: saturation", ("inbound", "saturate"), "ok_per_s", "200/s"),
    ("inbound: at 50 % ({target_rate}/s)", ("inbound", "fixed_50"), "latency", ""),
    ("inbound: at 80 % ({target_rate}/s)", ("inbound", "fixed_80"), "latency", ""),
    ("drain: {count} deliveries → sink", ("drain", "deliveries"), "per_s", "deliveries/s"),
    ("drain: {count} deliveries, webhooks on", ("drain", "with_webhooks"), "per_s",
     "deliveries/s"),
    ("drain: {count} outgoing webhooks", ("drain", "webhooks"), "per_s", "webhooks/s"),
    ("drain: {count} to {destinations} paced destinations", ("drain", "distinct_paced"), "per_s",
     "deliveries/s"),
    ("paced: {count} to one webhook, max {configured_per_s}/s (paced at {target_per_s}/s)",
     ("paced",), "per_s", "deliveries/s"),
    ("latency: the sends' own 202, PostgreSQL + Redis", ("latency", "redis", "send"),
     "latency", ""),
    ("latency: send → provider, {rate} sends/s, PostgreSQL + Redis",
     ("latency", "redis", "provider"), "latency", ""),
    ("latency: status change → webhook, PostgreSQL + Redis", ("latency", "redis", "webhook"),
     "latency", ""),
    ("latency: the sends' own 202, embedded default", ("latency", "embedded", "send"),
     "latency", ""),
    ("latency: send → provider, {rate} sends/s, embedded default",
     ("latency", "embedded", "provider"), "latency", ""),
    ("latency: status change → webhook, embedded default", ("latency", "embedded", "webhook"),
     "latency", ""),
    ("memory: largest web process after {soak_s} s at {rate}/s", ("memory",),
     "web_max_rss_mib", "MiB RSS"),
    ("memory: largest worker process after the soak", ("memory",), "worker_max_rss_mib",
     "MiB RSS"),
    ("memory: worst growth over the soak", ("memory",), "max_growth_pct", "%"),
    ("log: first page", ("log", "first_page"), "latency", ""),
    ("log: ?status=failed", ("log", "filtered"), "latency", ""),
    ("log: first page, {newer_rows} newer rows of another account",
     ("log", "first_page_behind_neighbour"), "latency", ""),
]  # fmt: skip


def figure_rows(results: dict) -> list[tuple[str, str, str]]:
    rows = []
    for label, path, key, unit in FIGURES:
        run = _get(results, *path)
        fields = {"accounts": "—", "target_rate": "—", "count": "—", "newer_rows": "—",
                  "state": "—", "configured_per_s": "—", "target_per_s": "—",
                  "destinations": "—", "rate": "—", "soak_s": "—"}  # fmt: skip
        if isinstance(run, dict):
            fields.update({k: _fmt(v) for k, v in run.items() if k in fields and v is not None})
            if "entries" in run:  # results of runs before the "state" field
                fields["state"] = f"{run['entries']:,}-entry history"
        value = _latency(run) if key == "latency" else _fmt(_get(results, *path, key), unit)
        rows.append((label.format(**fields), value, _note(run)))
    return rows


def render(results: dict) -> str:
    lines = []
    machine = results.get("machine", {})
    lines.append(
        f"oneping bench {results.get('started_at', '')}  "
        f"{'QUICK' if results.get('quick') else 'FULL'}  "
        f"{machine.get('nproc')} cores, {machine.get('memory_gb')} GB, {machine.get('cpu_model')}"
    )
    config = results.get("config", {})
    lines.append(
        f"gunicorn {config.get('gunicorn')}; celery {config.get('celery')}; "
        f"{config.get('connections')} connections; niceness {config.get('niceness')}"
    )
    seed = _get(results, "log", "seed") or {}
    lines.append(
        f"message log: {_fmt(seed.get('messages'))} messages; other processes used "
        f"{_fmt(results.get('background_cpu_pct'), '%')} of the CPU just before the run"
    )
    lines.append("")
    figures = figure_rows(results)
    width = max(len(row[0]) for row in figures)
    value_width = max(len(row[1]) for row in figures)
    for name, value, note in figures:
        lines.append(f"  {name:<{width}}  {value:<{value_width}}  {note}".rstrip())
    lines.append("")
    rows = ratios(results)
    digits = lambda row: 3 if "÷" in row["name"] else 1  # noqa: E731
    name_width = max(len(row["name"]) for row in rows)
    for row in rows:
        margin = "" if row["margin_pct"] is None else f"({row['margin_pct']:+.0f} %)"
        value = _fmt(row["value"], digits=digits(row))
        noisy = "  (noisy inputs)" if row.get("noisy_inputs") else ""
        if row.get("paired"):
            noisy += f"  (paired median; apart {_fmt(row.get('apart'), digits=3)})"
        lines.append(
            f"  {row['name']:<{name_width}}  {value:>9}  target {row['target']:<6}"
            f"  {row['verdict']} {margin}{noisy}".rstrip()
        )
    if results.get("errors"):
        lines.append("")
        for phase, error in results["errors"].items():
            lines.append(f"  ERROR in {phase}: {error}")
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1]) as stored:
        print(render(json.load(stored)))
