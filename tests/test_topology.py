"""The production topology, tested: deploy/Procfile run with honcho as docs/deploy.md says
(plus the overlay tests/topology.env), against one PostgreSQL and one Redis.

Host A runs two gunicorn instances on two ports, one worker per queue and beat; host B runs
a second `sending` worker. Sends and signed inbound webhooks alternate between the two web
instances, with fake Slack and Telegram and a local receiver of outgoing webhooks; host B's
worker is killed (SIGKILL, whole process group) mid-run. Then every accepted message reached
its final status once per delivery, every event reached the receiver, nothing is left
queued, and the quota and the per-key limit held exactly over both web instances.
"""

import hashlib
import hmac
import itertools
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.db.models import Count

from accounts import api_keys, services
from accounts.models import Account, Plan
from channels_app.delivery import BATCH
from channels_app.models import ChannelConfig, Delivery, Message, TimelineEntry
from oneping.celery import app as celery_app
from tests.conftest import TELEGRAM_TOKEN, wait_until
from tests.fakes import Canned, FakeHTTPProvider, FakeSlack, FakeTelegram
from tests.faults.processes import Processes, database_url, free_port, wait_for_port
from tests.faults.report import report
from tests.topology_formation import HOST_A, HOST_B, Host, path_with_venv
from webhooks.models import Event, InboundEvent, WebhookDelivery

SENDS = 120  # to Slack and Telegram: two deliveries each
INBOUND = 60  # signed POST /hooks/in/<token>, each a message to Slack
QUOTA_SENDS = 150  # on a fresh free account (100 a month): exactly 100 accepted
RATE_LIMIT = 40  # requests a minute for one key, spent by RATE_LIMIT * 3 // 2 requests
CLIENT_THREADS = 8
WORKER_CONCURRENCY = 2  # tests/topology.env
INBOUND_SECRET = "topology-inbound-secret"
QUEUES = ("sending", "webhooks", "inbound", "celery")


def _shared_services() -> str:
    """Why this run cannot test the topology, or "" when it can."""
    engine = settings.DATABASES["default"]["ENGINE"]
    cache = settings.CACHES["default"]["BACKEND"]
    if "postgresql" not in engine or not settings.CELERY_BROKER_URL.startswith("redis"):
        return (
            "the multi-process topology needs what several hosts share: PostgreSQL "
            "(DATABASE_URL) and Redis (CELERY_BROKER_URL, CACHE_URL); the embedded default "
            "(SQLite + filesystem broker) serves one host"
        )
    if "redis" not in cache.lower():
        return "two web instances count rate limits together only in a shared cache: CACHE_URL"
    return ""


pytestmark = [
    pytest.mark.topology,
    pytest.mark.worker,
    pytest.mark.skipif(bool(_shared_services()), reason=_shared_services() or "-"),
]


class Receiver(FakeHTTPProvider):
    """A customer's webhook receiver: answers 200, records every request."""

    def __init__(self):
        super().__init__(default=Canned(200, "thanks"))


@pytest.fixture
def providers() -> Iterator[dict[str, FakeHTTPProvider]]:
    # A little latency, as real providers have: a killed worker is caught mid-send.
    slack, telegram = FakeSlack(), FakeTelegram()
    slack.default = Canned(200, "ok", delay=0.05)
    started = {"slack": slack, "telegram": telegram, "receiver": Receiver()}
    for server in started.values():
        server.start()
    yield started
    for server in started.values():
        server.stop()


def two_free_ports() -> int:
    """A base port whose next port is free too (honcho gives web.2 PORT + 1)."""
    for _ in range(50):
        port = free_port()
        if port < 65000 and port + 100 < 65535:
            try:
                wait_for_port(port + 1, timeout=0.01)
            except AssertionError:
                return port  # nothing listens on port + 1
    raise AssertionError("no two free ports in a row")


@pytest.fixture
def formation(transactional_db, tmp_path: Path, providers) -> Iterator[dict]:
    """Host A (two web, one worker per queue, beat) and host B (a second sending worker),
    running deploy/Procfile; all stopped before the test database is flushed."""
    celery_app.control.purge()
    processes = Processes(tmp_path)
    port = two_free_ports()
    env = dict(
        os.environ,
        # Production settings, not the suite's: only the overlay and what follows differ.
        DJANGO_SETTINGS_MODULE="oneping.settings",
        DEBUG="false",
        DATABASE_URL=database_url(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        ONEPING_TELEGRAM_API_BASE=providers["telegram"].url,
        PATH=path_with_venv(),
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    env.pop("ONEPING_TEST_DATA_DIR", None)
    hosts = {
        "a": Host(processes, "host-a", HOST_A, env),
        "b": Host(processes, "host-b", HOST_B, env),
    }
    web = [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]
    stopped: dict[str, float] = {}
    try:
        for base in web:
            wait_for_port(int(base.rsplit(":", 1)[1]), timeout=120, process=hosts["a"].honcho)
            wait_until(lambda base=base: _healthy(base), timeout=60, interval=0.5)
        for host, workers in (("a", 3), ("b", 1)):
            wait_until(
                lambda host=host, workers=workers: hosts[host].log().count(" ready.") >= workers,
                timeout=120,
                interval=0.5,
            )
        # Earlier tests' killed workers may have left tasks there too: count only ours.
        yield {"hosts": hosts, "web": web, "stopped": stopped, "unacked_before": unacked()}
    finally:
        for name, host in hosts.items():
            stopped[name] = host.stop()
        processes.stop_all()
        celery_app.control.purge()


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def new_account(plan: Plan | None = None) -> tuple[Account, str]:
    n = next(_accounts)
    _, account = services.create_user_with_account(
        email=f"topology{n}@example.com", password="correct-horse-battery", account_name=f"T{n}"
    )
    if plan is not None:
        account.plan = plan
        account.save(update_fields=["plan"])
    _, key = api_keys.issue_key(account, "topology")
    return account, key


_accounts = itertools.count(1)


def alternate(web: list[str], calls: list[Callable[[str], tuple]]) -> list[tuple]:
    """Run calls[i](web[i % 2]) from CLIENT_THREADS threads: every other request to each
    web instance."""
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        return list(pool.map(lambda n: calls[n](web[n % 2]), range(len(calls))))


def pairs(calls: list) -> list[list]:
    return [calls[n : n + 2] for n in range(0, len(calls), 2)]


def answer(response: requests.Response) -> str:
    """'202', or '429 quota_exceeded' for an answer in the error shape."""
    try:
        code = response.json().get("error", {}).get("code")
    except ValueError:
        code = None
    return f"{response.status_code} {code}" if code else str(response.status_code)


def sender(key: str, text: str, channels: list[str]) -> Callable[[str], tuple]:
    def send(base: str) -> tuple:
        response = requests.post(
            f"{base}/api/v1/send",
            json={"message": text, "channels": channels, "recipient": "ops"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        return base, answer(response)

    return send


def inbound_poster(url: str, n: int) -> Callable[[str], tuple]:
    body = json.dumps({"event": f"topology.{n}"}).encode()
    signature = hmac.new(INBOUND_SECRET.encode(), body, hashlib.sha256).hexdigest()
    path = url.split("/hooks/", 1)[1]

    def post(base: str) -> tuple:
        response = requests.post(
            f"{base}/hooks/{path}",
            data=body,
            headers={"Content-Type": "application/json", "X-Webhook-Signature": signature},
            timeout=30,
        )
        return base, answer(response)

    return post


def lister(key: str) -> Callable[[str], tuple]:
    def get(base: str) -> tuple:
        response = requests.get(
            f"{base}/api/v1/messages", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        return base, answer(response)

    return get


def api_post(base: str, key: str, path: str, body: dict) -> dict:
    response = requests.post(
        f"{base}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()


def queue_depths() -> dict[str, int]:
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        return {name: channel.queue_declare(queue=name).message_count for name in QUEUES}


def unacked() -> int:
    with celery_app.connection_for_write() as conn:
        return conn.default_channel.client.hlen("unacked")


def database_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def statuses(model, **filters) -> dict[str, int]:
    return dict(Counter(model.objects.filter(**filters).values_list("status", flat=True)))


def settled() -> bool:
    return (
        not Delivery.objects.exclude(status__in=Delivery.FINAL).exists()
        and not InboundEvent.objects.exclude(status="processed").exists()
        and not WebhookDelivery.objects.exclude(status="succeeded").exists()
    )


@pytest.mark.timeout(900)
def test_the_procfile_topology_loses_nothing_when_a_sending_worker_dies(formation, providers):
    hosts, web = formation["hosts"], formation["web"]
    slack, telegram, receiver = providers["slack"], providers["telegram"], providers["receiver"]
    roomy = Plan.objects.create(
        name="topology",
        display_name="Topology",
        monthly_quota=100_000,
        api_requests_per_minute=100_000,
    )
    account, key = new_account(roomy)
    # Unpaced (the operator's flag): hundreds of messages go to one webhook and one chat,
    # and the subject is what a dying worker loses, not pacing (tests/test_pacing.py).
    ChannelConfig.objects.create(
        account=account,
        kind="slack",
        config={"webhook_url": f"{slack.url}/services/T/B/X"},
        unpaced=True,
    )
    ChannelConfig.objects.create(
        account=account,
        kind="telegram",
        config={"bot_token": TELEGRAM_TOKEN, "default_chat_id": "4242"},
        unpaced=True,
    )
    # Set up through the two instances: endpoints validated by the overlay's URL rules.
    api_post(
        web[0],
        key,
        "/api/v1/webhook-endpoints",
        {"url": f"{receiver.url}/hooks", "event_types": ["message.sent", "message.delivered"]},
    )
    inbound = api_post(
        web[1],
        key,
        "/api/v1/inbound-endpoints",
        {
            "name": "topology",
            "verification": "hmac_sha256",
            "secret": INBOUND_SECRET,
            "rules": [
                {
                    "event": "*",
                    "message": "got {{ event_type }}",
                    "channels": ["slack"],
                    "recipient": "ops",
                }
            ],
        },
    )
    free, free_key = new_account()
    ChannelConfig.objects.create(
        account=free,
        kind="slack",
        config={"webhook_url": f"{slack.url}/services/T/B/Q"},
        unpaced=True,
    )
    limited_plan = Plan.objects.create(
        name="limited",
        display_name="Limited",
        monthly_quota=100,
        api_requests_per_minute=RATE_LIMIT,
    )
    _, limited_key = new_account(limited_plan)

    # When sends and inbound webhooks alternate between the two web instances…
    sends = [sender(key, f"send #{n}", ["slack", "telegram"]) for n in range(SENDS)]
    hooks = [inbound_poster(inbound["url"], n) for n in range(INBOUND)]
    # Two sends, two inbound posts, two sends…: each kind alternates between the instances.
    traffic = [
        call
        for pair in itertools.zip_longest(pairs(sends), pairs(hooks), fillvalue=[])
        for call in itertools.chain(*pair)
    ]
    with ThreadPoolExecutor(1) as background:
        driving = background.submit(alternate, web, traffic)
        # …and host B's sending worker is killed, whole process group, while it sends
        victim = "worker-sending.1"
        wait_until(
            lambda: (
                sum(
                    "channels_app.deliver[" in line and "received" in line
                    for line in hosts["b"].lines_of(victim)
                )
                >= 3
                or driving.done()
            ),
            timeout=180,
            interval=0.2,
        )
        wait_until(lambda: len(slack.requests) >= SENDS // 4 or driving.done(), timeout=180)
        killed = hosts["b"].kill(victim)
        killed_at = time.monotonic()
        received_at_kill = len(slack.requests) + len(telegram.requests)
        in_flight_at_kill = statuses(Delivery).get("sending", 0)
        sent = driving.result(timeout=300)
    wait_until(lambda: not hosts["b"].alive(victim), timeout=10)

    # …while a fresh free account spends its quota, and a key its per-minute limit, over both
    quota = alternate(web, [sender(free_key, f"quota #{n}", ["slack"]) for n in range(QUOTA_SENDS)])
    # One fixed one-minute window (accounts/throttling.py): start well inside it.
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)
    limited = alternate(web, [lister(limited_key)] * (RATE_LIMIT * 3 // 2))

    peak_connections = database_connections()

    def all_done() -> bool:
        nonlocal peak_connections
        peak_connections = max(peak_connections, database_connections())
        return settled() and not any(queue_depths().values())

    wait_until(all_done, timeout=300, interval=1.0)
    recovered_in = time.monotonic() - killed_at

    # Then host A is whole: no process of it died when host B's worker did
    survivors = {name: hosts["a"].alive(name) for name in hosts["a"].pids()}
    # …and the killed worker's deliveries came back through beat's sweep, run by host A
    sweeps = sum("outbox-sweep" in line for line in hosts["a"].lines_of("beat.1"))
    # When host A is told to stop (SIGTERM, as a deploy does), every process ends cleanly
    shutdown_seconds = hosts["a"].stop()
    stopped_cleanly = {name: not hosts["a"].alive(name) for name in survivors}

    messages = Message.objects.filter(account__in=[account, free])
    deliveries = Delivery.objects.filter(account__in=[account, free])
    final_entries = (
        TimelineEntry.objects.filter(delivery__in=deliveries, status__in=Delivery.FINAL)
        .values("delivery")
        .annotate(n=Count("id"))
    )
    texts = Counter(
        (kind, request.json()["text"])
        for kind, provider in (("slack", slack), ("telegram", telegram))
        for request in provider.requests
    )
    expected = {("slack", f"send #{n}") for n in range(SENDS)}
    expected |= {("telegram", f"send #{n}") for n in range(SENDS)}
    expected |= {("slack", f"got topology.{n}") for n in range(INBOUND)}
    accepted_quota = [n for n, (_, code) in enumerate(quota) if code == "202"]
    expected |= {("slack", f"quota #{n}") for n in accepted_quota}
    # The receiver subscribed to these, for the roomy account (the free one has none).
    events = set(
        Event.objects.filter(
            account=account, type__in=["message.sent", "message.delivered"]
        ).values_list("pk", flat=True)
    )
    arrived = Counter(request.headers.get("webhook-id") for request in receiver.requests)
    per_instance = Counter(base for base, _ in sent + quota + limited)
    report(
        "topology",
        web_instances=len(web),
        requests_per_instance=sorted(per_instance.values()),
        sends=Counter(code for _, code in sent),
        quota=Counter(code for _, code in quota),
        per_key_limit=Counter(code for _, code in limited),
        killed_pool_processes=len(killed),
        provider_requests_at_kill=received_at_kill,
        deliveries_sending_at_kill=in_flight_at_kill,
        messages=messages.count(),
        deliveries=deliveries.count(),
        delivery_statuses=statuses(Delivery, account__in=[account, free]),
        provider_duplicates=sum(n - 1 for n in texts.values()),
        provider_lost=len(expected - set(texts)),
        events=len(events),
        receiver_duplicates=sum(n - 1 for n in arrived.values()),
        queues=queue_depths(),
        # Tasks the killed worker had taken: Redis gives them back after its visibility
        # timeout (an hour); the sweep had long sent their rows (docs/deploy.md).
        unacked_in_redis=unacked() - formation["unacked_before"],
        peak_database_connections=peak_connections,
        seconds_kill_to_all_final=round(recovered_in, 1),
        beat_outbox_sweeps=sweeps,
        seconds_sigterm_to_host_a_stopped=round(shutdown_seconds, 1),
        sigkilled_on_stop=re.findall(r"sending SIGKILL to (\S+)", hosts["a"].log()),
    )
    assert all(survivors.values()), (survivors, hosts["a"].log()[-3000:])
    assert sorted(survivors) == [
        "beat.1",
        "web.1",
        "web.2",
        "worker-inbound.1",
        "worker-sending.1",
        "worker-webhooks.1",
    ]
    assert sweeps > 0
    assert all(stopped_cleanly.values()), stopped_cleanly
    # gunicorn's graceful stop (WEB_GRACEFUL_TIMEOUT), not honcho's SIGKILL five seconds
    # after its SIGTERM; every worker began a warm shutdown. (A worker or beat caught in a
    # slow call may still outlast those five seconds: killing it loses nothing.)
    killed_on_stop = re.findall(r"sending SIGKILL to (\S+)", hosts["a"].log())
    assert not {"web.1", "web.2"} & set(killed_on_stop), hosts["a"].log()[-3000:]
    for worker in ("worker-sending.1", "worker-webhooks.1", "worker-inbound.1"):
        assert any("Warm shutdown" in line for line in hosts["a"].lines_of(worker)), worker

    # Every request was answered by both instances, and nothing failed
    assert len(per_instance) == 2 and min(per_instance.values()) > 0, per_instance
    assert Counter(sent) == {
        (web[0], "202"): SENDS // 2,
        (web[1], "202"): SENDS // 2,
        (web[0], "200"): INBOUND // 2,
        (web[1], "200"): INBOUND // 2,
    }, sent
    # The quota and the per-key limit are shared by the two instances: exact over both
    assert Counter(code for _, code in quota) == {"202": 100, "429 quota_exceeded": 50}
    assert Counter(code for _, code in limited) == {
        "200": RATE_LIMIT,
        "429 rate_limited": RATE_LIMIT // 2,
    }

    # Every accepted message reached its final status, once per delivery
    assert messages.count() == SENDS + INBOUND + 100
    assert statuses(Message, account__in=[account, free]) == {"delivered": messages.count()}
    assert deliveries.count() == 2 * SENDS + INBOUND + 100
    assert set(statuses(Delivery, account__in=[account, free])) <= {"delivered", "sent"}
    assert len(final_entries) == deliveries.count()
    assert {row["n"] for row in final_entries} == {1}
    # …every one reached its provider, at least once: only sends that the killed worker
    # had in flight may have been repeated (at-least-once), each at most once more
    assert set(texts) == expected
    assert max(texts.values()) <= 2
    assert sum(n - 1 for n in texts.values()) <= WORKER_CONCURRENCY * BATCH

    # Every event reached the receiver; nothing is left queued anywhere
    assert events and set(arrived) == events
    assert statuses(InboundEvent) == {"processed": INBOUND}
    assert not any(queue_depths().values())
