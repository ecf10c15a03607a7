"""Data for a benchmark run: accounts, keys and channels (through the product's own commands
and API), and a large message log (PostgreSQL COPY, fast enough for a million rows).

Runs inside the harness process after django.setup(), against the run's own database.
"""

import http.client
import io
import json
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from django.core.management import call_command

BENCH_QUOTA = 2_000_000_000  # Plan.monthly_quota is a PositiveIntegerField (≤ 2**31 - 1)


@dataclass
class Tenant:
    account_id: str
    slug: str
    key: str


def api(port: int, method: str, path: str, key: str, payload=None) -> tuple[int, dict]:
    """One call to the running web server (setup only: the load goes through loadgen)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = None if payload is None else json.dumps(payload)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data or b"{}")
    except ValueError:
        return response.status, {"raw": data[:500].decode(errors="replace")}


def expect(answer: tuple[int, dict], status: int, what: str) -> dict:
    if answer[0] != status:
        raise RuntimeError(f"{what}: expected HTTP {status}, got {answer[0]}: {answer[1]}")
    return answer[1]


def create_tenant(email: str, name: str) -> Tenant:
    """create_account + create_api_key (the documented commands), then a plan without a
    practical quota or per-key rate limit, so 429 answers cannot pollute the numbers."""
    from accounts.models import Account, Plan

    slug_out, key_out, quiet = io.StringIO(), io.StringIO(), io.StringIO()
    password = "pw-" + secrets.token_urlsafe(24)  # never starts with "-" (argparse)
    call_command("create_account", email, password=password, name=name, stdout=slug_out)
    slug = slug_out.getvalue().strip().splitlines()[-1]
    call_command("create_api_key", slug, name="bench", stdout=key_out, stderr=quiet)
    key = key_out.getvalue().strip().splitlines()[-1]
    plan, _ = Plan.objects.get_or_create(
        name="bench", defaults={"display_name": "Benchmark", "monthly_quota": BENCH_QUOTA}
    )
    if hasattr(plan, "api_requests_per_minute"):  # the per-key rate limit (accounts/throttling)
        plan.api_requests_per_minute = BENCH_QUOTA
        plan.save(update_fields=["api_requests_per_minute"])
    account = Account.objects.get(slug=slug)
    account.plan = plan
    account.save(update_fields=["plan"])
    return Tenant(account_id=account.id, slug=slug, key=key)


def configure_channels(port: int, tenant: Tenant, sink_port: int) -> None:
    """A Slack and a Discord channel at the sink, unpaced: the throughput phases send
    thousands of messages to these ONE webhook each, which pacing would hold to 1 a second
    (the "paced destination" phase measures pacing). `unpaced` is the operator's flag,
    which the API does not take: set through the ORM, as the Django admin would."""
    from channels_app.models import ChannelConfig

    sink = f"http://127.0.0.1:{sink_port}"
    for kind, url in (
        ("slack", f"{sink}/services/T000/B000/XXXX"),
        ("discord", f"{sink}/api/webhooks/1/bench-token"),
    ):
        payload = {"kind": kind, "config": {"webhook_url": url}}
        expect(api(port, "POST", "/api/v1/channels", tenant.key, payload), 201, f"{kind} channel")
    ChannelConfig.objects.filter(account_id=tenant.account_id).update(unpaced=True)


def configure_paced_slack(port: int, tenant: Tenant, sink_port: int, per_second: float) -> None:
    """A Slack channel at the sink whose webhook is paced at `per_second`."""
    config = {
        "webhook_url": f"http://127.0.0.1:{sink_port}/services/T000/B000/PACED",
        "max_per_second": per_second,
    }
    payload = {"kind": "slack", "config": config}
    expect(api(port, "POST", "/api/v1/channels", tenant.key, payload), 201, "paced slack")


def create_inbound_endpoint(port: int, tenant: Tenant, secret: str) -> str:
    """An hmac_sha256 endpoint; returns its path (/hooks/in/<token>)."""
    payload = {
        "name": "bench",
        "verification": "hmac_sha256",
        "secret": secret,
        "rules": [
            {"event": "*", "message": "bench {{ n }}", "channels": ["slack"], "recipient": "x"}
        ],
    }
    body = expect(
        api(port, "POST", "/api/v1/inbound-endpoints", tenant.key, payload), 201, "inbound"
    )
    return "/hooks/in/" + body["url"].rsplit("/hooks/in/", 1)[1]


def create_webhook_endpoint(
    port: int, tenant: Tenant, sink_port: int, path: str = "/oneping-events"
) -> str:
    payload = {
        "url": f"http://127.0.0.1:{sink_port}{path}",
        "description": "bench",
        "event_types": ["message.delivered"],
    }
    body = expect(
        api(port, "POST", "/api/v1/webhook-endpoints", tenant.key, payload), 201, "webhook"
    )
    return body["id"]


# --- The message log at scale ------------------------------------------------------------

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # oneping.ids: lowercase Crockford base32
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits → 2 characters
_SHIFTS = range(120, -1, -10)  # 13 pairs = 26 characters = 130 bits (top 2 are zero)


def ulid_id(prefix: str, millis: int, rng: random.Random) -> str:
    """`prefix_` + 26 characters: 48-bit millisecond time, 80 random bits (oneping.ids)."""
    value = millis << 80 | rng.getrandbits(80)
    return prefix + "_" + "".join(_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS)


# Message status → (slack delivery, discord delivery), roughly a healthy production mix.
_OUTCOMES = [
    ("delivered", "delivered", "delivered", 93),
    ("partially_failed", "delivered", "failed", 4),
    ("failed", "failed", "failed", 3),
]
# Every NOT NULL column (Django's defaults are not the database's: COPY must name them).
_MESSAGE_COLUMNS = (
    "id, account_id, recipient, subject, body, channels, fallback_channels, metadata, "
    "channel_options, callback_url, retry, is_channel_test, status, created_at"
)
_DELIVERY_COLUMNS = (
    "id, account_id, message_id, channel, address, target, fallback_order, status, attempts, "
    "max_attempts, opens, clicks, destination, provider_message_id, last_error, "
    "next_attempt_at, enqueued_at, lease_expires_at, created_at, updated_at"
)


def seed_message_log(
    database_url: str,
    account_id: str,
    count: int,
    *,
    days_ago: tuple[float, float] = (30, 1),
    chunk: int = 20_000,
) -> dict:
    """`count` messages spread evenly between days_ago[0] and days_ago[1] days ago, each
    with a slack and a discord delivery, loaded with COPY; then ANALYZE. Returns timings."""
    from oneping.crypto import encrypt

    rng = random.Random(f"{account_id}{count}")  # noqa: S311 (test data, not secrets)
    empty_target = encrypt("")  # what Delivery.target holds for "the channel's webhook"
    weights = [outcome[3] for outcome in _OUTCOMES]
    now = datetime.now(UTC)
    start = now - timedelta(days=days_ago[0])
    step = (timedelta(days=days_ago[0]) - timedelta(days=days_ago[1])) / count
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for first in range(0, count, chunk):
            messages, deliveries = io.StringIO(), io.StringIO()
            for index in range(first, min(first + chunk, count)):
                created = start + step * index
                millis = int(created.timestamp() * 1000)
                stamp = created.isoformat()
                message_id = ulid_id("msg", millis, rng)
                status, slack, discord = rng.choices(_OUTCOMES, weights)[0][:3]
                messages.write(
                    f"{message_id}\t{account_id}\tcustomer-{index % 5000}\tOrder update\t"
                    f'Order #{index} has shipped\t["slack", "discord"]\t[]\t{{}}\t{{}}\t\t'
                    f"t\tf\t{status}\t{stamp}\n"
                )
                for channel, outcome in (("slack", slack), ("discord", discord)):
                    attempts, error = (1, "") if outcome == "delivered" else (6, "HTTP 500")
                    deliveries.write(
                        f"{ulid_id('dlv', millis, rng)}\t{account_id}\t{message_id}\t{channel}\t"
                        f"channel webhook\t{empty_target}\t0\t{outcome}\t{attempts}\t6\t0\t0\t"
                        f"\t\t{error}\t\\N\t{stamp}\t\\N\t{stamp}\t{stamp}\n"
                    )
            with conn.cursor() as cursor:
                with cursor.copy(
                    f"COPY channels_app_message ({_MESSAGE_COLUMNS}) FROM STDIN"
                ) as cp:
                    cp.write(messages.getvalue())
                with cursor.copy(
                    f"COPY channels_app_delivery ({_DELIVERY_COLUMNS}) FROM STDIN"
                ) as cp:
                    cp.write(deliveries.getvalue())
        loaded = time.monotonic()
        conn.execute("ANALYZE channels_app_message")
        conn.execute("ANALYZE channels_app_delivery")
    return {
        "messages": count,
        "deliveries": 2 * count,
        "copy_s": round(loaded - started, 1),
        "analyze_s": round(time.monotonic() - loaded, 1),
    }
