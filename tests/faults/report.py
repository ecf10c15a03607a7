"""Measured figures of a fault test: printed (visible with -s) and, when
ONEPING_FAULT_REPORT names a file, appended to it as one JSON line per test."""

import json
import os
import time
from typing import Any

from django.conf import settings
from django.db import connection


def profile() -> str:
    """Which of the suite's two setups this run uses."""
    database = "postgresql" if connection.vendor == "postgresql" else connection.vendor
    broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
    return f"{database}+{broker}"


def report(test: str, **figures: Any) -> dict[str, Any]:
    line = {"test": test, "profile": profile(), "at": round(time.time(), 3), **figures}
    print(f"\n[faults] {json.dumps(line, sort_keys=False)}", flush=True)
    path = os.environ.get("ONEPING_FAULT_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
    return line
