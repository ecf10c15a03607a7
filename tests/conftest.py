import itertools
import time
from collections.abc import Callable, Iterator

import pytest
from django.http import HttpResponse
from django.test import Client

from accounts import api_keys, services
from accounts.models import Account, Membership, Plan, User

# Fixtures kept beside their fakes, one module per area (each imports what it needs).
pytest_plugins = [
    "tests.fixtures_billing",
    "tests.fixtures_email_providers",
    "tests.fixtures_email_tracking",
    "tests.fixtures_own_tracking",
    "tests.fixtures_suppressions",
]

_counter = itertools.count(1)
# Every owner make_account creates signs in with this password.
OWNER_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session", autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters live in the cache, which may be a Redis that outlives a run."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _full_pace_buckets() -> None:
    """Every test starts with full token buckets (channels_app.pacing). The database store's
    rows roll back with each test; the Redis store's keys (the PostgreSQL + Redis profile)
    outlive it, and tests share the fakes' credentials and numbers, so one test's wait
    would hold the next one's deliveries."""
    from django.core.cache import caches

    from channels_app.pacing import store

    if store.backend() != "redis":
        return
    client = caches["default"]._cache.get_client(None, write=True)
    keys = list(client.scan_iter("pace:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def make_account(db) -> Callable[..., Account]:
    def make(name: str | None = None, email: str | None = None) -> Account:
        n = next(_counter)
        _, account = services.create_user_with_account(
            email=email or f"owner{n}@example.com",
            password=OWNER_PASSWORD,
            account_name=name or f"Account {n}",
        )
        return account

    return make


def set_caps(account: Account, **caps: int) -> None:
    """Change the account's plan's limits (Plan.max_*, monthly_quota…), as staff would in
    the admin: every account on that plan, and its test environment, gets them at once."""
    Plan.objects.filter(pk=account.plan_id).update(**caps)


@pytest.fixture
def account(make_account) -> Account:
    return make_account("Acme")


@pytest.fixture
def owner(account) -> User:
    return account.members.get()


@pytest.fixture
def make_member(account, django_user_model) -> Callable[..., Membership]:
    """Add a user to `account` with a role (member unless told), e-mail `<role>@example.com`."""

    def make(role: str = Membership.Role.MEMBER, email: str | None = None) -> Membership:
        user = django_user_model.objects.create_user(
            email=email or f"{role}@example.com", password="x-y-z-1-2-3"
        )
        return Membership.objects.create(user=user, account=account, role=role)

    return make


@pytest.fixture
def owner_client(client, owner) -> Client:
    """The dashboard as the account's owner (pytest-django's `client`, logged in)."""
    client.force_login(owner)
    return client


@pytest.fixture
def member_client(make_member) -> Client:
    """The dashboard as a plain member: a client of its own, so a test can hold it next to
    owner_client."""
    client = Client()
    client.force_login(make_member().user)
    return client


@pytest.fixture
def api_key(account) -> str:
    _, raw_key = api_keys.issue_key(account, "tests")
    return raw_key


class ApiClient(Client):
    """A test client that sends JSON and an API key."""

    def __init__(self, key: str | None = None, **kwargs):
        kwargs.setdefault("raise_request_exception", False)
        if key:
            kwargs.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
        super().__init__(**kwargs)

    def post_json(self, path: str, data=None, **extra):
        return self.post(
            path, data if data is not None else {}, content_type="application/json", **extra
        )


@pytest.fixture
def api(api_key) -> ApiClient:
    return ApiClient(api_key)


def post_send(
    api: ApiClient, message: str = "Order #42 shipped", *, path: str = "/api/v1/send", **fields
) -> HttpResponse:
    """POST a send (to Slack, recipient "ops", unless `fields` say otherwise); the response
    as it came, for tests of the refusals."""
    body = {"message": message, "channels": ["slack"], "recipient": "ops", **fields}
    return api.post_json(path, body)


def send(api: ApiClient, message: str = "Order #42 shipped", **fields) -> dict:
    """A send the API accepts (202, or the test fails with the answer): its JSON body."""
    response = post_send(api, message, **fields)
    assert response.status_code == 202, response.content
    return response.json()


def delivery_ids(accepted: dict) -> list[str]:
    """The delivery ids of an accepted send's body, in the order the API listed them."""
    return [delivery["id"] for delivery in accepted["deliveries"]]


@pytest.fixture
def anonymous_api() -> ApiClient:
    return ApiClient()


@pytest.fixture
def make_api_client(db) -> Callable[[Account], ApiClient]:
    def make(account: Account) -> ApiClient:
        _, raw_key = api_keys.issue_key(account, "tests")
        return ApiClient(raw_key)

    return make


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[None]:
    """A real Celery worker (in a thread) consuming from the configured broker, and a
    database whose commits it can see.

    The queue is purged first: transactional tests without a worker (the concurrency races)
    leave tasks behind. The worker stops before the test database is flushed, so it never
    holds a lock the flush waits for.
    """
    from celery.contrib.testing.worker import start_worker

    from oneping.celery import app

    app.control.purge()
    # The ping check needs a result backend, which oneping does not use; tests wait for
    # the effects of their tasks instead.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def wait_until(condition: Callable[[], object], timeout: float = 20.0, interval: float = 0.05):
    """Poll until condition() is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def serving(server, settings=None, api_base: str = ""):
    """Start a loopback fake for one test (pointing the `api_base` setting at it, if named)
    and stop it after: the body of every fake provider's fixture."""
    server.start()
    if api_base:
        setattr(settings, api_base, server.url)
    yield server
    server.stop()


@pytest.fixture
def telegram(settings):
    from tests.fakes import FakeTelegram

    yield from serving(FakeTelegram(), settings, "ONEPING_TELEGRAM_API_BASE")


@pytest.fixture
def slack():
    from tests.fakes import FakeSlack

    yield from serving(FakeSlack())


@pytest.fixture
def discord():
    from tests.fakes import FakeDiscord

    yield from serving(FakeDiscord())


@pytest.fixture
def receiver():
    """A webhook endpoint's receiver on loopback: 200 "thanks" unless a test scripts more."""
    from tests.fakes import Canned, FakeHTTPProvider

    yield from serving(FakeHTTPProvider(default=Canned(200, "thanks")))


@pytest.fixture
def smtp():
    from tests.fakes import FakeSMTP

    yield from serving(FakeSMTP())


@pytest.fixture
def twilio(settings):
    """Twilio's Messages API on loopback (tests/fakes_phones.py): SMS and WhatsApp."""
    from tests.fakes_phones import FakeTwilio

    yield from serving(FakeTwilio(), settings, "ONEPING_TWILIO_API_BASE")


@pytest.fixture
def meta(settings):
    """Meta's WhatsApp Cloud API on loopback (tests/fakes_phones.py)."""
    from tests.fakes_phones import FakeMeta

    yield from serving(FakeMeta(), settings, "ONEPING_WHATSAPP_API_BASE")


@pytest.fixture
def public_url(settings) -> str:
    """ONEPING_PUBLIC_URL set, as behind a proxy: the URL providers sign and report to."""
    from tests.callback_helpers import PUBLIC_URL

    settings.ONEPING_PUBLIC_URL = PUBLIC_URL
    return PUBLIC_URL


def phone_channel(account, kind: str, config_name: str):
    """A phone channel of `account` with a config of tests/fakes_phones.py."""
    from channels_app.models import ChannelConfig
    from tests import fakes_phones

    config = getattr(fakes_phones, config_name)
    return ChannelConfig.objects.create(account=account, kind=kind, config=config)


@pytest.fixture
def sms_channel(account):
    """SMS through Twilio configured for `account` (add the `twilio` fake to send)."""
    return phone_channel(account, "sms", "SMS_CONFIG")


@pytest.fixture
def whatsapp_twilio_channel(account):
    """WhatsApp through Twilio configured for `account` (add the `twilio` fake to send)."""
    return phone_channel(account, "whatsapp", "WHATSAPP_TWILIO_CONFIG")


@pytest.fixture
def whatsapp_meta_channel(account):
    """WhatsApp through Meta's Cloud API configured for `account` (add the `meta` fake)."""
    return phone_channel(account, "whatsapp", "WHATSAPP_META_CONFIG")


def unpaced(*channels):
    """The channels with the operator's `unpaced` flag set: for tests whose subject is how
    a provider's answer is sorted or retried, attempting a delivery again at once, which
    pacing would hold until its destination's next token (channels_app.pacing)."""
    from channels_app.models import ChannelConfig

    ChannelConfig.objects.filter(pk__in=[c.pk for c in channels]).update(unpaced=True)
    for channel in channels:
        channel.unpaced = True
    return channels[0] if len(channels) == 1 else channels


TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def email_config(smtp) -> dict:
    """An email channel's config sending through the SMTP fake."""
    return {
        "host": smtp.host,
        "port": smtp.port,
        "username": "",
        "password": "",
        "use_tls": False,
        "use_ssl": False,
        "from_email": "alerts@acme.test",
    }


@pytest.fixture
def channels(account, telegram, slack, discord, smtp):
    """All four channels configured for `account`, each pointing at its fake provider."""
    from channels_app.models import ChannelConfig

    configs = {
        "telegram": {"bot_token": TELEGRAM_TOKEN, "default_chat_id": "4242"},
        "slack": {"webhook_url": f"{slack.url}/services/T000/B000/XXXX"},
        "discord": {"webhook_url": f"{discord.url}/api/webhooks/1/abc"},
        "email": email_config(smtp),
    }
    return {
        kind: ChannelConfig.objects.create(account=account, kind=kind, config=config)
        for kind, config in configs.items()
    }


@pytest.fixture
def slack_channel(account, slack):
    """Only Slack configured for `account`, pointing at the fake."""
    from channels_app.models import ChannelConfig

    return ChannelConfig.objects.create(
        account=account,
        kind="slack",
        config={"webhook_url": f"{slack.url}/services/T000/B000/XXXX"},
    )


@pytest.fixture
def processes(transactional_db, tmp_path):
    """Processes this test starts (tests/faults/processes.py); all stopped before the test
    database is flushed, so none holds a connection or a lock the flush would wait for."""
    from tests.faults.processes import Processes

    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def empty_queue(transactional_db) -> Iterator[None]:
    """Tasks left by earlier tests (or by this one) would only slow a worker down."""
    from oneping.celery import app

    app.control.purge()
    yield
    app.control.purge()
