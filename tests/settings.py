"""Test settings: oneping.settings with an isolated data folder and fast password hashing.

DATABASE_URL and CELERY_BROKER_URL pass through, so the same suite runs on the embedded
default (SQLite file + filesystem broker) and on PostgreSQL + Redis.
"""

import atexit
import os
import shutil
import tempfile

# A worker process started by a test passes ONEPING_TEST_DATA_DIR to share the test run's
# folder (the SQLite test database and the filesystem broker's queues live there).
_DATA_DIR = os.environ.get("ONEPING_TEST_DATA_DIR") or tempfile.mkdtemp(prefix="oneping-tests-")
if "ONEPING_TEST_DATA_DIR" not in os.environ:
    atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)

# Never share queues or files with a developer's `make run` in ./var.
os.environ["ONEPING_DATA_DIR"] = _DATA_DIR
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("ONEPING_ENCRYPTION_KEYS", "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=")
# The suite counts in prometheus-client's multiprocess mode, as production does: the
# worker processes tests start write into the same folder the test process scrapes. A
# server a test starts with metrics of its own (test_make_run_under_load) names its folder.
# (tests/served_settings.py imports oneping.settings before this file: set the setting
# again below, so the folder the client writes to and the one the scrape reads are one.)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ.get(
    "ONEPING_TEST_METRICS_DIR", os.path.join(_DATA_DIR, "metrics")
)
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from oneping.settings import *  # noqa: E402, F403
from oneping.settings import DATABASES, STORAGES  # noqa: E402

PROMETHEUS_MULTIPROC_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ONEPING_ALLOW_PRIVATE_URLS = True
# The fake providers and receivers speak plain http on loopback.
ONEPING_ALLOW_HTTP_URLS = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so worker threads and processes see the same test database.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_DATA_DIR, "test.sqlite3")}

# Compressed so retries happen within a test; tests that check the schedule set their own.
ONEPING_DELIVERY_RETRY_SCHEDULE = [0.2, 0.2, 0.2]
# Email's pacing (10 a second in production) is a tenth of a second between two sends: a
# test attempting two emails back to back would pass or wait depending on the machine's
# speed. Tests of email's pacing set the rate they test (tests/test_pacing_integrations.py).
ONEPING_PACING_EMAIL_PER_SECOND = 1000.0
ONEPING_HTTP_CONNECT_TIMEOUT = 2.0
ONEPING_HTTP_READ_TIMEOUT = 2.0
ONEPING_SMTP_TIMEOUT = 5.0
ONEPING_WEBHOOK_RETRY_SCHEDULE = [0.2, 0.2, 0.2]
ONEPING_WEBHOOK_TIMEOUT_SECONDS = 2.0
# Four timeouts, as in production (unless a process is given its own).
ONEPING_WEBHOOK_LEASE_SECONDS = int(os.environ.get("ONEPING_WEBHOOK_LEASE_SECONDS") or 8)
# The live test server speaks plain HTTP: secure-only cookies would never come back.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
# The suite signs people up and uses the dashboard at once (production defaults to
# mandatory verification; tests/test_settings.py checks that default).
ACCOUNT_EMAIL_VERIFICATION = "optional"
# The suite runs without `collectstatic`: templates name source files, WhiteNoise and the
# live server find them in the app folders.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
