"""Fixtures of the fault tests: processes they start (stopped whatever happens), a plan
roomy enough for hundreds of messages, and an empty queue to start from."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.processes import Processes


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml lists it (run alone with `-m faults`).
    config.addinivalue_line("markers", "faults: fault-injection tests")


@pytest.fixture
def processes(transactional_db, tmp_path: Path) -> Iterator[Processes]:
    """Processes this test starts; all stopped before the test database is flushed, so
    none holds a connection or a lock the flush would wait for."""
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


@pytest.fixture
def roomy_plan(account):
    """Hundreds of messages and API calls in a minute: past the free plan on purpose."""
    from accounts.models import Plan

    plan = Plan.objects.create(name="faults", display_name="Faults", monthly_quota=100_000)
    if hasattr(plan, "api_requests_per_minute"):
        plan.api_requests_per_minute = 100_000
        plan.save()
    account.plan = plan
    account.save(update_fields=["plan"])
    return plan
