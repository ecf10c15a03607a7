"""`--profile`: sample the web (or worker) processes with py-spy while a phase runs.

Writes <results>/<run>/<phase>.collapsed (flamegraph input: `flamegraph.pl` or
speedscope.app read it) and <phase>.top.txt, a short summary: where the wall time of the
sampled processes goes, inclusive, by function and by library.

    .venv/bin/pip install py-spy        # make bench PROFILE=1 does this
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

from bench.stack import BIN

GROUPS = [  # first match wins; checked against "function (file)" frames
    ("oneping code", ("(accounts/", "(channels_app/", "(webhooks/", "(oneping/")),
    ("psycopg (database driver, incl. waiting for PostgreSQL)", ("(psycopg",)),
    ("Django ORM", ("(django/db/",)),
    ("kombu/celery/redis (broker, cache)", ("(kombu/", "(celery/", "(redis/")),
    ("cryptography (Fernet)", ("(cryptography/",)),
    ("DRF", ("(rest_framework/",)),
    ("Django (other)", ("(django/",)),
    ("gunicorn", ("(gunicorn/",)),
    ("requests/urllib3 (outbound HTTP)", ("(requests/", "(urllib3/")),
]


def _py_spy() -> str | None:
    candidate = BIN / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def maybe_record(run, phase: str, target: str = "web"):
    if not run.profile:
        yield
        return
    py_spy = _py_spy()
    if py_spy is None:
        print("   --profile: py-spy is not installed (pip install py-spy); skipping", flush=True)
        yield
        return
    out = run.log_dir / f"{phase}.collapsed"
    argv = [
        py_spy,
        "record",
        "--pid",
        str(run.stack.pid(target)),
        "--subprocesses",
        "--rate",
        "97",
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
    ]
    process = subprocess.Popen(  # noqa: S603
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        if out.exists():
            (run.log_dir / f"{phase}.top.txt").write_text(summarize(out))


def _frames(stack: str) -> list[str]:
    return [frame for frame in stack.split(";") if frame]


def _function(frame: str) -> str:
    """'attempt (channels_app/delivery.py:42)' → 'attempt (channels_app/delivery.py)'."""
    return re.sub(r":\d+\)$", ")", frame)


def summarize(collapsed: Path, top: int = 25) -> str:
    by_function: Counter = Counter()
    by_line: Counter = Counter()
    groups: Counter = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        frames = _frames(stack)
        total += samples
        for frame in {_function(frame) for frame in frames}:
            by_function[frame] += samples
        for frame in set(frames):
            by_line[frame] += samples
        # Self time by library: the innermost frame decides.
        leaf = frames[-1] if frames else ""
        for name, needles in GROUPS:
            if any(needle in leaf for needle in needles):
                groups[name] += samples
                break
        else:
            groups["other (stdlib, C)"] += samples
    if not total:
        return "no samples\n"
    mine = lambda frame: any(needle in frame for needle in GROUPS[0][1])  # noqa: E731
    share = lambda samples: f"{samples / total * 100:5.1f} %"  # noqa: E731
    lines = [
        f"{total} samples of threads that were not idle (waiting for PostgreSQL counts as busy)",
        "",
        "self time by library (innermost frame):",
        *(f"  {share(n)}  {name}" for name, n in groups.most_common()),
        "",
        "inclusive time by oneping function:",
        *[f"  {share(n)}  {f}" for f, n in by_function.most_common() if mine(f)][:top],
        "",
        "inclusive time by oneping line:",
        *[f"  {share(n)}  {f}" for f, n in by_line.most_common() if mine(f)][:top],
    ]
    return "\n".join(lines) + "\n"
