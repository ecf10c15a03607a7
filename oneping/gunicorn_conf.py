"""gunicorn's configuration: `gunicorn -c oneping/gunicorn_conf.py oneping.wsgi` (Procfile).

gthread workers: WEB_CONCURRENCY processes (default one per core) of WEB_THREADS threads
(default 4). Without a shared cache (no CACHE_URL, the embedded default) there is exactly
one process: rate-limit counters live in that process's memory, and threads share it, so
the per-key limit stays exact; more processes need CACHE_URL=redis://… (oneping/serving.py).
Settings reference: https://docs.gunicorn.org/en/stable/settings.html
"""

import os
import sys
from pathlib import Path

# gunicorn reads this file before it imports the application: make `oneping` importable
# however the server was started.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from oneping import serving
from oneping.env import env_bool, env_int, env_str

# Only web processes pool their database connections (oneping/settings.py): set before each
# worker loads Django. Celery workers keep one persistent connection per child instead,
# since Celery's Django fixup closes a pool after every task.
os.environ.setdefault("DATABASE_POOL", "true")

wsgi_app = "oneping.wsgi:application"
worker_class = "gthread"
workers = serving.web_processes()
threads = serving.web_threads()

# Development (`make run` with DEBUG on) listens on loopback only; production listens on
# every interface, for a proxy or a platform router in front. BIND overrides both.
_host = "127.0.0.1" if env_bool("DEBUG", default=False) else "0.0.0.0"  # noqa: S104
bind = [env_str("BIND") or f"{_host}:{env_int('PORT', 8000)}"]

# SIGTERM: stop accepting, finish the requests in flight for up to this long, then exit.
graceful_timeout = env_int("WEB_GRACEFUL_TIMEOUT", 30)
# A worker silent for this long is killed and replaced (a request stuck on a dead socket).
timeout = env_int("WEB_TIMEOUT", 60)
# Clients and proxies that keep connections alive reuse them for this long.
keepalive = 5

accesslog = "-"
errorlog = "-"
loglevel = env_str("LOG_LEVEL", "info").lower()

# gunicorn ≥ 25.1 opens a control socket at one fixed path per user ($HOME/.gunicorn):
# two servers on one host (two instances, or tests in parallel) would fight over it.
# Older versions ignore the setting.
control_socket_disable = True
