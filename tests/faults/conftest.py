"""Fixtures of the fault tests: a plan roomy enough for hundreds of messages. (`processes`
and `empty_queue` are in tests/conftest.py: other tests start processes too.)"""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml lists it (run alone with `-m faults`).
    config.addinivalue_line("markers", "faults: fault-injection tests")


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
