"""GET /healthz: can this process reach its database and its broker?"""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from oneping.celery import app as celery_app

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    # Read the URL at call time so a process reports the broker it is really configured for.
    with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)


CHECKS = {"database": check_database, "broker": check_broker}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    body: dict[str, str] = {"status": "ok"}
    for part, check in CHECKS.items():
        try:
            check()
        except Exception:
            # The answer is public: exception texts name hosts, ports, database and user
            # names (and a broker URL may hold its password). They go to the log only.
            logger.warning("health check %s failed", part, exc_info=True)
            body[part] = "unavailable"
        else:
            body[part] = "ok"
    if "unavailable" in body.values():
        body["status"] = "unavailable"
        return JsonResponse(body, status=503)
    return JsonResponse(body)
