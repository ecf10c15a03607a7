"""The database goes away under a running web process: the API answers 503 in the error
shape, /healthz says so, and both work again once it is back, without a restart.

The web process (gunicorn when installed, else runserver) reaches PostgreSQL through a TCP
proxy the test stops (connections cut, new ones refused) and starts again. CONN_MAX_AGE
keeps the worker's connection open between requests: the outage breaks a live connection,
the case CONN_HEALTH_CHECKS must handle.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.conftest import wait_until
from tests.faults.processes import (
    BIN,
    Processes,
    Spawned,
    child_env,
    database_url,
    free_port,
    wait_for_port,
)
from tests.faults.proxy import TcpProxy
from tests.faults.report import report

OUTAGE_REQUESTS = 6  # one each half second: a 3 s outage

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite is a file inside the web process: there is no database server to lose",
    ),
]


@pytest.fixture
def database_proxy(transactional_db) -> Iterator[TcpProxy]:
    port = int(connection.settings_dict.get("PORT") or 5432)
    proxy = TcpProxy(port, connection.settings_dict.get("HOST") or "127.0.0.1").start()
    try:
        yield proxy
    finally:
        proxy.stop()


def start_web(
    processes: Processes, proxy: TcpProxy, url_query: str = "", pooled: bool = False
) -> tuple[Spawned, str, str]:
    """(process, base URL, which server). pooled: as the Procfile runs it (gunicorn's config:
    threads, and a connection pool instead of a persistent connection)."""
    port = free_port()
    env = child_env(DATABASE_URL=database_url(port=proxy.port) + url_query)
    if pooled:
        argv = [str(BIN / "gunicorn"), "-c", "oneping/gunicorn_conf.py", "oneping.wsgi"]
        argv += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"]
        web = processes.start("web", argv, env)
        wait_for_port(port, 30, web)
        return web, f"http://127.0.0.1:{port}", "gunicorn pooled"
    if (BIN / "gunicorn").exists():
        # One sync worker: one persistent database connection, reused request after request.
        argv = [str(BIN / "gunicorn"), "oneping.wsgi", "--bind", f"127.0.0.1:{port}"]
        argv += ["--workers", "1", "--timeout", "30", "--log-level", "warning"]
    else:
        argv = [str(BIN / "python"), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    web = processes.start("web", argv, env)
    wait_for_port(port, 30, web)
    return web, f"http://127.0.0.1:{port}", Path(argv[0]).name


def send(base: str, key: str, text: str, timeout: float = 30) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/send",
        json={"message": text, "channels": ["slack"], "recipient": "ops"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=timeout,
    )


POOLED = pytest.mark.parametrize(
    "pooled", [pytest.param(False, id="persistent"), pytest.param(True, id="pooled")]
)


@pytest.mark.timeout(180)
@POOLED
def test_the_api_is_503_while_the_database_is_away_and_recovers_without_a_restart(
    pooled, api_key, slack_channel, processes: Processes, database_proxy: TcpProxy, empty_queue
):
    # Given a web process whose database connection goes through the proxy, and works
    web, base, server = start_web(processes, database_proxy, pooled=pooled)
    assert send(base, api_key, "before").status_code == 202
    assert requests.get(f"{base}/healthz", timeout=30).status_code == 200

    # When the database goes away (its connections cut, new ones refused)
    database_proxy.stop()
    outage_started = time.monotonic()

    # Then the API answers 503 service_unavailable in the error shape, and /healthz 503,
    # for as long as the outage lasts
    during = []
    for n in range(OUTAGE_REQUESTS):
        during.append(send(base, api_key, f"during #{n}"))
        time.sleep(0.5)
    for response in during:
        assert response.status_code == 503, response.text
        assert response.headers["Content-Type"].startswith("application/json")
        error = response.json()["error"]
        assert error["code"] == "service_unavailable"
        assert error["message"] and error["details"] == {}
    also_alias = requests.post(
        f"{base}/send", json={}, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    )
    assert also_alias.status_code == 503
    assert also_alias.json()["error"]["code"] == "service_unavailable"
    health = requests.get(f"{base}/healthz", timeout=30)
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert health.json()["database"] == "unavailable"
    slowest_during = max(r.elapsed.total_seconds() for r in during)
    outage_seconds = time.monotonic() - outage_started

    # When it is back: the same process serves again, with no restart
    database_proxy.start()
    back_at = time.monotonic()
    tries: list[int] = []

    def accepted() -> requests.Response | None:
        response = send(base, api_key, "after")
        tries.append(response.status_code)
        return response if response.status_code == 202 else None

    recovered = wait_until(accepted, timeout=30, interval=0.2)
    recovered_in = time.monotonic() - back_at
    assert requests.get(f"{base}/healthz", timeout=30).json()["database"] == "ok"
    assert web.alive, web.log_tail()

    from channels_app.models import Message

    stored = sorted(Message.objects.values_list("body", flat=True))
    report(
        "database_outage",
        server=server,
        answers_during_outage=[r.status_code for r in during],
        slowest_answer_during_outage_s=round(slowest_during, 3),
        outage_seconds=round(outage_seconds, 2),
        seconds_back_to_first_202=round(recovered_in, 3),
        answers_after_recovery=tries,
        messages_stored=stored,
    )
    # Nothing half-stored during the outage; the request after it is accepted once.
    assert recovered.status_code == 202
    assert stored == ["after", "before"]


HUNG_ANSWER_WITHIN_SECONDS = 8.0


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "url_query",
    [
        pytest.param("", id="default-connect-timeout"),
        pytest.param("?connect_timeout=2", id="connect_timeout=2"),
    ],
)
@POOLED
def test_a_hung_database_is_503_within_the_connect_timeout(
    pooled: bool,
    url_query: str,
    api_key,
    slack_channel,
    processes: Processes,
    database_proxy: TcpProxy,
    empty_queue,
):
    # Given a web process that works, its database behind the proxy
    web, base, server = start_web(processes, database_proxy, url_query, pooled)
    assert send(base, api_key, "before").status_code == 202

    # When the database hangs: its connections are cut, new ones accepted, never answered
    # (a pooler such as PgBouncer holding its clients while the database is away)
    database_proxy.hang()
    started = time.monotonic()
    answer: int | str = f"none within {HUNG_ANSWER_WITHIN_SECONDS} s"
    try:
        response = send(base, api_key, "during", timeout=HUNG_ANSWER_WITHIN_SECONDS)
        answer = response.status_code
    finally:
        report(
            "database_hung",
            server=server,
            database_url_query=url_query,
            answer=answer,
            seconds_waited=round(time.monotonic() - started, 2),
        )

    # Then the answer is a prompt 503, and the same process serves again once it is back
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    database_proxy.start()
    recovered = wait_until(
        lambda: send(base, api_key, "after").status_code == 202, timeout=30, interval=0.2
    )
    assert recovered
    assert web.alive, web.log_tail()
