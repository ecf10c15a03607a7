"""Schemathesis against /api/schema/: every documented operation, generated requests.

The schema is fetched from the Django app itself (WSGI, in-process) and each operation
becomes one test with its own database: an account with an API key, all four channels and
one object of every kind (tests/hostile/objects.py). Positive cases that take an `{id}` are
aimed at that real object, so updates, deletes and actions run on real rows; negative
cases keep the generated id. Every response must be a non-5xx the schema documents:
status code, content type, headers and body.

Two of schemathesis's default checks are turned off; they test strictness the API does
not promise:
- negative_data_rejection: DRF coerces JSON scalars (`{"name": 0}` is the name "0") and
  its pagination ignores a `limit` that is not a number.
- positive_data_acceptance: a request can match the schema and still break a rule the
  schema cannot express (the recipient must resolve, the channel must be configured, a
  contact identifier must be unique). Those answers are 4xx in the error shape, which the
  checks that stay on do verify.

Nothing is excluded for being offline: requests never contact a provider (sends, tests
and webhook events are queued after the commit, which a test transaction never reaches).
Billing's operations call Stripe in the request: they run against the fake Stripe, so
they answer as a configured server does (a 503 billing_not_configured or a 502 would be
a server error here).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from tests.hostile.objects import make_objects

MAX_EXAMPLES = 30  # per operation, in the fuzzing phase
SENT = {"requests": 0, "operations": 0}
# The first path segment after /api/v1/ names the kind of object an {id} refers to.
TARGETS = {
    "api-keys": "api_key",
    "channels": "channel",
    "contacts": "contact",
    "messages": "message",
    "deliveries": "delivery",
    "webhook-endpoints": "webhook_endpoint",
    "events": "event",
    "inbound-endpoints": "inbound_endpoint",
    "inbound-events": "inbound_event",
    "suppressions": "suppression",
}

_django = get_wsgi_application()


def wsgi_app(environ, start_response):
    # As Django's test client does: a request must not close the connection that holds the
    # test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        SENT["requests"] += 1
        return _django(environ, start_response)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261129,  # with `deterministic`, every run sends the same requests
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "negative_data_rejection": {"enabled": False},
            "positive_data_acceptance": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, config=CONFIG)


@pytest.fixture
def fuzz_account(db, account, channels, api_key, fake_stripe):
    SENT["operations"] += 1
    return {"headers": {"Authorization": f"Bearer {api_key}"}, "objects": make_objects(account)}


@pytest.fixture(scope="module", autouse=True)
def _print_the_count():
    yield
    print(f"\nschemathesis: {SENT['requests']} requests over {SENT['operations']} operations")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema(case, fuzz_account):
    kind = case.path.removeprefix("/api/v1/").split("/")[0]
    if "id" in (case.path_parameters or {}) and not case.meta.generation.mode.is_negative:
        target = getattr(fuzz_account["objects"], TARGETS[kind])
        case.path_parameters["id"] = target.pk
    case.call_and_validate(headers=fuzz_account["headers"])
