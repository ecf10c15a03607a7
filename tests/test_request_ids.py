"""X-Request-Id on every answer, and LOG_FORMAT=json: one JSON object a line, with the
request id, account id and message/delivery/event ids, in the web process and in the worker
that runs the tasks the request enqueued."""

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client

from channels_app.models import ChannelConfig, Delivery
from oneping import logs
from tests.conftest import wait_until
from tests.fakes import Canned, FakeHTTPProvider
from tests.faults.processes import BIN, Processes, child_env

ROOT = Path(__file__).resolve().parent.parent
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict]]]:
    """Every record of this process so far, as LOG_FORMAT=json writes it, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_every_answer_has_a_request_id(client, db):
    for path in ("/healthz", "/api/v1/messages", "/no/such/page", "/accounts/login/"):
        response = client.get(path)
        assert GENERATED.fullmatch(response["X-Request-Id"]), path
    assert client.get("/healthz")["X-Request-Id"] != client.get("/healthz")["X-Request-Id"]


@pytest.mark.parametrize(
    "incoming",
    ["0f8fad5b-d9cb-469f-a165-70867728950e", "Root=1-5759e988-bd862e3fe1be46a994272793", "abc"],
)
def test_a_sane_incoming_request_id_is_kept(client, db, incoming):
    assert client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-Id"] == incoming


@pytest.mark.parametrize(
    "incoming", ["two words", "forged\nline", "x" * 200, "<script>", "-leading-dash", ""]
)
def test_an_odd_incoming_request_id_is_replaced(client, db, incoming):
    assert GENERATED.fullmatch(client.get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-Id"])


def test_a_send_logs_json_with_its_request_account_and_message_ids(api, account, slack, json_lines):
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/services/T/B/X"}
    )

    response = api.post_json(
        "/api/v1/send",
        {"message": "hi", "channels": ["slack"], "recipient": "ops"},
        HTTP_X_REQUEST_ID="req-send-1",
    )
    api.get("/api/v1/messages", HTTP_X_REQUEST_ID="req-list-2")

    assert response.status_code == 202
    assert response["X-Request-Id"] == "req-send-1"
    [send_line] = [line for line in json_lines() if line.get("request_id") == "req-send-1"]
    assert send_line["logger"] == "oneping.requests"
    assert send_line["account_id"] == account.pk
    assert send_line["message_id"] == response.json()["id"]
    assert (send_line["route"], send_line["method"], send_line["status"]) == (
        "api-send",
        "POST",
        202,
    )
    # The next request on the same thread starts clean: no message id carried over.
    [list_line] = [line for line in json_lines() if line.get("request_id") == "req-list-2"]
    assert "message_id" not in list_line
    assert list_line["account_id"] == account.pk


def test_an_inbound_event_logs_its_account_and_event_ids(api, account, json_lines):
    endpoint = api.post_json(
        "/api/v1/inbound-endpoints", {"name": "h", "verification": "none", "rules": []}
    ).json()

    answer = Client().post(
        endpoint["url"].split("testserver", 1)[-1],
        b'{"event": "x"}',
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-inbound-1",
    )

    [line] = [line for line in json_lines() if line.get("request_id") == "req-inbound-1"]
    assert line["event_id"] == answer.json()["id"]
    assert line["account_id"] == account.pk


LOG_A_LINE = """
import django, logging
django.setup()
from oneping import logs
logs.bind(request_id="r-1", account_id="acct_1")
logging.getLogger("oneping.check").warning("hello %s", "world")
"""


def test_log_format_json_turns_the_processes_logs_into_json_lines(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="oneping.settings", DEBUG="true", LOG_FORMAT="json")
    env.update(ONEPING_DATA_DIR=str(tmp_path))

    done = subprocess.run(
        [sys.executable, "-c", LOG_A_LINE], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello world"
    assert (line["level"], line["logger"]) == ("WARNING", "oneping.check")
    assert (line["request_id"], line["account_id"]) == ("r-1", "acct_1")


def test_an_unknown_log_format_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="oneping.settings", DEBUG="true", LOG_FORMAT="xml")
    env.update(ONEPING_DATA_DIR=str(tmp_path))

    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert done.returncode != 0
    assert "LOG_FORMAT='xml'" in done.stderr


@pytest.mark.worker
@pytest.mark.timeout(180)
def test_the_request_id_follows_the_send_into_the_worker_json_logs(
    api, account, slack, processes: Processes, empty_queue
):
    # Given a worker process logging JSON at INFO, and a webhook receiver
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/services/T/B/X"}
    )
    receiver = FakeHTTPProvider(default=Canned(200, "ok")).start()
    api.post_json("/api/v1/webhook-endpoints", {"url": f"{receiver.url}/hooks"})
    argv = [str(BIN / "celery"), "-A", "oneping", "worker", "--pool", "prefork"]
    argv += ["--concurrency", "2", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
    argv += ["--hostname", f"json-{os.getpid()}@%h"]
    worker = processes.start("json-worker", argv, child_env(LOG_FORMAT="json"))

    # When a send with a request id is delivered (and its webhook event sent after it)
    accepted = api.post_json(
        "/api/v1/send",
        {"message": "hi", "channels": ["slack"], "recipient": "ops"},
        HTTP_X_REQUEST_ID="req-follow-me",
    ).json()
    delivery_id = accepted["deliveries"][0]["id"]
    wait_until(lambda: Delivery.objects.get(pk=delivery_id).status == "delivered", timeout=60)
    wait_until(lambda: receiver.requests, timeout=60)

    def tagged() -> list[dict]:
        lines = []
        for raw in worker.log.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                line = json.loads(raw)
                if line.get("request_id") == "req-follow-me":
                    lines.append(line)
        return lines

    # Then the worker's lines of that task carry the request's ids, and so do those of
    # the webhook task the delivery enqueued in turn
    lines = wait_until(
        lambda: (
            (found := tagged())
            and {line.get("task") for line in found}
            >= {"channels_app.deliver", "webhooks.send_webhook"}
            and found
        ),
        timeout=30,
    )
    receiver.stop()
    deliver = [line for line in lines if line.get("task") == "channels_app.deliver"]
    assert deliver[0]["account_id"] == account.pk
    assert deliver[0]["delivery_id"] == delivery_id
    assert deliver[0]["message_id"] == accepted["id"]
    assert deliver[0]["task_id"]
    assert all(line["account_id"] == account.pk for line in lines)
    assert worker.alive
