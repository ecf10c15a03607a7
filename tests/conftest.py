import itertools
import time
from collections.abc import Callable, Iterator

import pytest
from django.test import Client

from accounts import api_keys, services
from accounts.models import Account, User

_counter = itertools.count(1)


@pytest.fixture
def make_account(db) -> Callable[..., Account]:
    def make(name: str | None = None, email: str | None = None) -> Account:
        n = next(_counter)
        _, account = services.create_user_with_account(
            email=email or f"owner{n}@example.com",
            password="correct-horse-battery",
            account_name=name or f"Account {n}",
        )
        return account

    return make


@pytest.fixture
def account(make_account) -> Account:
    return make_account("Acme")


@pytest.fixture
def owner(account) -> User:
    return account.members.get()


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
    """A real Celery worker (in a thread) consuming from the configured broker.

    The queue is purged first so leftovers of earlier runs are not mistaken for ours.
    """
    from celery.contrib.testing.worker import start_worker

    from oneping.celery import app

    app.control.purge()
    # The ping check needs a result backend and remote control, which the filesystem
    # broker does not have; the tests wait for the effects of their tasks instead.
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
