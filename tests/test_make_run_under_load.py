"""`make run` under load: the server it starts (gunicorn, a worker, beat: the Procfile) holds
200 concurrent clients with limits exact, no connection errors and no 5xx, on both profiles.

The server is started by `make run` itself, with the test run's database, broker and cache
(tests/served_settings.py), DEBUG off and a free port. The issue this answers: on
runserver, 6 of 50 refused sends were connection resets, and on PostgreSQL 51 of 150 were
503 once one connection per client thread had used up max_connections.
"""

import hashlib
import hmac
import itertools
import json
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from accounts import api_keys, services
from accounts.models import Account, Plan
from channels_app.models import ChannelConfig, Message
from oneping import serving
from tests.faults.processes import Processes, child_env, free_port, wait_for_port

CLIENTS = 200
REQUESTS_PER_CLIENT = 5
QUOTA_CLIENTS = 30  # 150 sends on a fresh free account: 100 accepted, 50 over quota
MIXED_ACCOUNTS = 5
ENDPOINTS_PER_ACCOUNT = 2
GITHUB_SECRET = "load-test-secret"
VENV = Path(sys.executable).parent.parent

pytestmark = pytest.mark.worker
METRICS_TOKEN = "load-test-metrics-token"


@pytest.fixture
def served(processes: Processes, slack, tmp_path: Path) -> str:
    """`make run` on a free port, metrics on; its base URL once gunicorn listens."""
    port = free_port()
    env = child_env(
        DJANGO_SETTINGS_MODULE="tests.served_settings",
        DEBUG="false",
        PORT=str(port),
        METRICS_TOKEN=METRICS_TOKEN,
        ONEPING_TEST_METRICS_DIR=str(tmp_path / "metrics"),
    )
    # The venv this suite runs in, and never a reinstall in the middle of a test (-o).
    argv = ["make", "--no-print-directory", f"VENV={VENV}", "-o", f"{VENV}/.installed", "run"]
    make = processes.start("make-run", argv, env)
    # collectstatic and migrate come first: generous on a loaded machine.
    wait_for_port(port, 240, make)
    return f"http://127.0.0.1:{port}"


def account_with_key(name: str, slack, plan: Plan | None = None) -> tuple[Account, str]:
    n = next(_accounts)
    _, account = services.create_user_with_account(
        email=f"load{n}@example.com", password="correct-horse-battery", account_name=name
    )
    if plan is not None:
        account.plan = plan
        account.save(update_fields=["plan"])
    ChannelConfig.objects.create(
        account=account,
        kind="slack",
        config={"webhook_url": f"{slack.url}/services/T000/B000/XXXX"},
    )
    _, key = api_keys.issue_key(account, "load")
    return account, key


_accounts = itertools.count(1)


def inbound_endpoint(key: str) -> str:
    """An inbound endpoint made through the API, as a customer would; its path."""
    from tests.conftest import ApiClient

    response = ApiClient(key).post_json(
        "/api/v1/inbound-endpoints",
        {
            "name": "ci",
            "verification": "github",
            "secret": GITHUB_SECRET,
            "rules": [
                {
                    "event": "*",
                    "message": "got {{ event_type }}",
                    "channels": ["slack"],
                    "recipient": "ops",
                },
            ],
        },
    )
    assert response.status_code == 201, response.content
    return "/" + response.json()["url"].split("/", 3)[3]


def github_post(session: requests.Session, url: str, delivery: str) -> requests.Response:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    body = json.dumps({"zen": "Keep it logically awesome.", "delivery": delivery}).encode()
    digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": delivery,
    }
    return session.post(url, data=body, headers=headers, timeout=120)


def send(session: requests.Session, base: str, key: str, text: str) -> requests.Response:
    return session.post(
        f"{base}/api/v1/send",
        json={"message": text, "channels": ["slack"], "recipient": "ops"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )


def outcome(response: requests.Response) -> str:
    """'202', or '429 quota_exceeded' for an answer in the error shape."""
    if response.status_code < 400:
        return str(response.status_code)
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = response.text[:80]
    return f"{response.status_code} {code}"


class ConnectionSampler:
    """The most connections PostgreSQL saw to the test database while the load ran."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psycopg

        params = connection.get_connection_params()
        with psycopg.connect(**params, autocommit=True) as conn:
            while not self._stop.wait(0.1):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                ).fetchone()
                self.peak = max(self.peak, row[0])

    def __enter__(self) -> "ConnectionSampler":
        if connection.vendor == "postgresql":
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)


def run_clients(clients: list[Callable[[requests.Session], list[str]]]) -> list[list[str]]:
    """Every client on its own thread and keep-alive session, all released at once."""
    start = threading.Barrier(len(clients))

    def run(client: Callable[[requests.Session], list[str]]) -> list[str]:
        with requests.Session() as session:
            start.wait()
            return client(session)

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(run, clients))


def calls(request: Callable[[requests.Session, int], requests.Response]):
    """A client making REQUESTS_PER_CLIENT requests; a connection error is an outcome."""

    def client(session: requests.Session) -> list[str]:
        outcomes = []
        for n in range(REQUESTS_PER_CLIENT):
            try:
                outcomes.append(outcome(request(session, n)))
            except requests.RequestException as error:
                outcomes.append(f"connection error {type(error).__name__}")
        return outcomes

    return client


@pytest.mark.timeout(900)
def test_make_run_holds_200_concurrent_clients_with_exact_limits(served, slack):
    base = served
    # Given a fresh free account (100 messages a month) and several busy accounts on a
    # roomy plan, each with a Slack channel and inbound endpoints
    _, quota_key = account_with_key("Fresh free", slack)
    roomy = Plan.objects.create(name="load", display_name="Load", monthly_quota=100_000)
    mixed = []
    for n in range(MIXED_ACCOUNTS):
        _, key = account_with_key(f"Busy {n}", slack, roomy)
        mixed.append((key, [inbound_endpoint(key) for _ in range(ENDPOINTS_PER_ACCOUNT)]))

    # When 200 clients make 5 requests each at once: 30 spend the free account's quota,
    # 170 mix sends, message lists and inbound webhooks over the busy accounts, each
    # under its limits (per key about 115 API calls, per endpoint about 30 hooks a run)
    clients = [
        calls(lambda session, n, c=c: send(session, base, quota_key, f"quota {c}.{n}"))
        for c in range(QUOTA_CLIENTS)
    ]
    for c in range(CLIENTS - QUOTA_CLIENTS):
        key, endpoints = mixed[c % MIXED_ACCOUNTS]
        kind = (c // MIXED_ACCOUNTS) % 3
        if kind == 0:
            request = lambda session, n, c=c, key=key: send(session, base, key, f"mix {c}.{n}")  # noqa: E731
        elif kind == 1:
            request = lambda session, n, key=key: session.get(  # noqa: E731
                f"{base}/api/v1/messages?limit=20",
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            )
        else:
            url = base + endpoints[(c // (MIXED_ACCOUNTS * 3)) % ENDPOINTS_PER_ACCOUNT]
            request = lambda session, n, c=c, url=url: github_post(session, url, f"d-{c}-{n}")  # noqa: E731
        clients.append(calls(request))
    with ConnectionSampler() as database:
        results = run_clients(clients)

    # Then the free account's quota held exactly: 100 accepted, 50 refused as over quota
    quota = Counter(itertools.chain.from_iterable(results[:QUOTA_CLIENTS]))
    assert quota == {"202": 100, "429 quota_exceeded": 50}, quota
    # And every other request succeeded: no connection error, no 5xx, no limit hit
    mixed_outcomes = Counter(itertools.chain.from_iterable(results[QUOTA_CLIENTS:]))
    assert sum(mixed_outcomes.values()) == (CLIENTS - QUOTA_CLIENTS) * REQUESTS_PER_CLIENT
    assert set(mixed_outcomes) <= {"200", "202"}, mixed_outcomes
    assert Message.objects.filter(account__name="Fresh free").count() == 100
    if connection.vendor == "postgresql":
        # And the web processes held no more than their pools (runserver held one per client
        # thread): processes x pool size, plus the worker's children, beat, this test's two
        # (its own and the sampler's), and one closing backend still listed for a moment
        _, pool_size = serving.pool_sizes()
        budget = serving.web_processes() * pool_size + serving.worker_concurrency() + 1 + 2 + 1
        assert 0 < database.peak <= budget, (database.peak, budget)
        print(f"peak PostgreSQL connections: {database.peak} (at most {budget})")


def test_make_run_keeps_the_per_key_limit_exact_and_serves_static_files(served, slack):
    base = served
    # Given a key whose plan allows 60 API calls a minute
    strict = Plan.objects.create(
        name="strict", display_name="Strict", monthly_quota=100_000, api_requests_per_minute=60
    )
    _, key = account_with_key("Strict", slack, strict)
    # The limit counts in one-minute windows: start well inside one.
    if time.time() % 60 > 30:
        time.sleep(60.5 - time.time() % 60)

    # When 30 clients make 5 calls each at once (150 calls)
    def list_messages(session: requests.Session, n: int) -> requests.Response:
        return session.get(
            f"{base}/api/v1/messages", headers={"Authorization": f"Bearer {key}"}, timeout=120
        )

    outcomes = Counter(itertools.chain.from_iterable(run_clients([calls(list_messages)] * 30)))

    # Then exactly 60 pass and 90 are refused, whichever process and thread served them
    assert outcomes == {"200": 60, "429 rate_limited": 90}, outcomes
    # And /metrics, summed over every gunicorn process's files, counted each answer once
    scraped = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=60
    )
    assert scraped.status_code == 200, scraped.text[:500]
    counted: Counter[str] = Counter()
    for family in text_string_to_metric_families(scraped.text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if name == "oneping_http_requests_total" and labels["route"] == "message-list":
                counted[labels["status"]] += int(sample.value)
    assert counted == {"200": 60, "429": 90}, counted

    # And the app serves its static files itself, hashed, compressed and cached for ever
    docs = requests.get(f"{base}/api/docs/", timeout=60)
    assert docs.status_code == 200
    script = re.search(r'src="(/static/[^"]+swagger-ui-bundle\.[0-9a-f]{12}\.js)"', docs.text)
    assert script, docs.text[:2000]
    asset = requests.get(base + script[1], headers={"Accept-Encoding": "gzip"}, timeout=60)
    assert asset.status_code == 200
    assert asset.headers["Content-Encoding"] == "gzip"
    assert "immutable" in asset.headers["Cache-Control"]
    login = requests.get(f"{base}/accounts/login/", timeout=60)
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', login.text)
    assert stylesheet, login.text[:2000]
    assert requests.get(base + stylesheet[1], timeout=60).status_code == 200
