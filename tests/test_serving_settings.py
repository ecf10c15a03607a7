"""The web tier's settings, read in a fresh interpreter as a starting process would: the
pool only in web processes, the connection budget, one process without a shared cache."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432/oneping_never_connected"
REDIS_CACHE = "redis://127.0.0.1:6379/15"

# Read the settings as a process would and print what the test looks at.
REPORT = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "pool": db.get("OPTIONS", {}).get("pool"),
    "conn_max_age": db.get("CONN_MAX_AGE"),
    "static": settings.STORAGES["staticfiles"]["BACKEND"],
}))
"""
# gunicorn's master executes its config file first; the workers then load Django.
GUNICORN_THEN_DJANGO = (
    "import runpy; conf = runpy.run_path('oneping/gunicorn_conf.py'); "
    "print(json.dumps({'workers': conf['workers'], 'threads': conf['threads']}))\n" + REPORT
)


def run(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "WEB_", "CACHE_", "WORKER_", "CONN_"))
        and key not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "PORT", "BIND"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="oneping.settings",
        ONEPING_DATA_DIR=env_overrides.pop("ONEPING_DATA_DIR"),
        SECRET_KEY="x" * 50,
        ONEPING_ENCRYPTION_KEYS="dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=",
    )
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def report(result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_web_processes_pool_their_connections_and_other_processes_keep_them(tmp_path):
    # Given PostgreSQL, when gunicorn's config runs before Django loads (a web process)
    _, web = report(
        run(GUNICORN_THEN_DJANGO, ONEPING_DATA_DIR=str(tmp_path), DATABASE_URL=POSTGRES)
    )
    # Then connections are pooled (Django requires CONN_MAX_AGE 0 with a pool), one per thread
    assert web["pool"] == {"min_size": 2, "max_size": 4, "timeout": 5.0, "reconnect_timeout": 5}
    assert web["conn_max_age"] == 0

    # And a Celery worker or manage.py (no gunicorn config) keeps persistent connections
    [worker] = report(run(REPORT, ONEPING_DATA_DIR=str(tmp_path), DATABASE_URL=POSTGRES))
    assert worker["pool"] is None
    assert worker["conn_max_age"] == 60


def test_pool_sizes_come_from_the_environment(tmp_path):
    [web] = report(
        run(
            REPORT,
            ONEPING_DATA_DIR=str(tmp_path),
            DATABASE_URL=POSTGRES,
            DATABASE_POOL="true",
            DATABASE_POOL_MIN_SIZE="1",
            DATABASE_POOL_MAX_SIZE="3",
            DATABASE_POOL_TIMEOUT="3",
            DATABASE_POOL_RECONNECT_TIMEOUT="2",
        )
    )
    assert web["pool"] == {"min_size": 1, "max_size": 3, "timeout": 3, "reconnect_timeout": 2}


def test_sqlite_has_no_pool_even_in_web_processes(tmp_path):
    _, web = report(run(GUNICORN_THEN_DJANGO, ONEPING_DATA_DIR=str(tmp_path)))
    assert web["pool"] is None


def test_more_connections_than_the_budget_refuse_to_start_with_the_arithmetic(tmp_path):
    # 20 processes x 4 connections + 2 worker children + beat = 83 > 80
    base = {
        "ONEPING_DATA_DIR": str(tmp_path),
        "DATABASE_URL": POSTGRES,
        "CACHE_URL": REDIS_CACHE,
        "WEB_CONCURRENCY": "20",
    }
    result = run(REPORT, **base, DATABASE_POOL_MAX_SIZE="4")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Up to 83 PostgreSQL connections" in result.stderr
    assert "web 20 processes * 4 pooled connections" in result.stderr
    assert "DATABASE_MAX_CONNECTIONS=80" in result.stderr

    # More processes than the budget has connections cannot fit at all
    result = run(REPORT, **base | {"WEB_CONCURRENCY": "90"})
    assert result.returncode != 0
    assert "Up to 93 PostgreSQL connections" in result.stderr

    # A larger budget fits
    assert (
        run(REPORT, **base, DATABASE_POOL_MAX_SIZE="4", DATABASE_MAX_CONNECTIONS="90").returncode
        == 0
    )


def test_by_default_the_pool_shrinks_to_fit_the_budget_on_many_cores(tmp_path):
    # 20 processes (20 cores) of 4 threads: (80 - 2 - 1) // 20 = 3 connections each
    _, web = report(
        run(
            GUNICORN_THEN_DJANGO,
            ONEPING_DATA_DIR=str(tmp_path),
            DATABASE_URL=POSTGRES,
            CACHE_URL=REDIS_CACHE,
            WEB_CONCURRENCY="20",
        )
    )
    assert web["pool"]["max_size"] == 3


def test_without_a_shared_cache_gunicorn_runs_one_process_with_threads(tmp_path):
    [server, _] = report(run(GUNICORN_THEN_DJANGO, ONEPING_DATA_DIR=str(tmp_path), WEB_THREADS="6"))
    assert server == {"workers": 1, "threads": 6}

    # Asking for more processes without a shared cache is refused: limits would multiply
    result = run(GUNICORN_THEN_DJANGO, ONEPING_DATA_DIR=str(tmp_path), WEB_CONCURRENCY="3")
    assert result.returncode != 0
    assert "WEB_CONCURRENCY=3 needs a cache every process shares" in result.stderr


def test_with_a_shared_cache_gunicorn_runs_web_concurrency_processes(tmp_path):
    [server, _] = report(
        run(
            GUNICORN_THEN_DJANGO,
            ONEPING_DATA_DIR=str(tmp_path),
            CACHE_URL=REDIS_CACHE,
            WEB_CONCURRENCY="3",
        )
    )
    assert server == {"workers": 3, "threads": 4}

    # The default is one process per core
    [server, _] = report(
        run(GUNICORN_THEN_DJANGO, ONEPING_DATA_DIR=str(tmp_path), CACHE_URL=REDIS_CACHE)
    )
    assert server["workers"] == os.cpu_count()


def test_static_files_are_hashed_and_compressed_with_debug_off(tmp_path):
    [production] = report(run(REPORT, ONEPING_DATA_DIR=str(tmp_path)))
    assert production["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"

    [development] = report(run(REPORT, ONEPING_DATA_DIR=str(tmp_path), DEBUG="true"))
    assert development["static"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
