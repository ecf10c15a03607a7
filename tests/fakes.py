"""Fake providers: real servers on loopback that behave like Telegram, Slack, Discord and SMTP.

Each HTTP fake records every request and answers from a script (a queue of canned
responses), falling back to the provider's normal success answer.
"""

import base64
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Canned:
    status: int = 200
    body: Any = None  # dict/list → JSON, str → text
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a hanging server)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5; a worker opening a batch of connections at once
    # would see SYNs dropped and retried a second later, which no real provider does.
    request_queue_size = 1024
    daemon_threads = True


class FakeHTTPProvider:
    def __init__(self, default: Canned):
        self.default = default
        self.script: deque[Canned] = deque()
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeHTTPProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, *responses: Canned) -> None:
        """Queue answers for the next requests, in order."""
        self.script.extend(responses)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")

    def respond(self, received: Received) -> Canned:
        with self._lock:
            self.requests.append(received)
            return self.script.popleft() if self.script else self.default

    def _handler_class(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The client died between its headers and its body (a worker killed
                    # mid-send): a real provider never acts on a truncated request.
                    self.close_connection = True
                    return
                received = Received("POST", self.path, dict(self.headers.items()), body)
                canned = provider.respond(received)
                if canned.delay:
                    time.sleep(canned.delay)
                body = canned.body
                if isinstance(body, dict | list):
                    payload, content_type = json.dumps(body).encode(), "application/json"
                else:
                    payload, content_type = (body or "").encode(), "text/plain"
                try:
                    self.send_response(canned.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in canned.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): that is the point of a delay

            def log_message(self, format, *args):
                pass

        return Handler


_message_ids = itertools.count(1000)


class FakeTelegram(FakeHTTPProvider):
    """Answers like https://core.telegram.org/bots/api#sendmessage."""

    def __init__(self):
        super().__init__(default=Canned(200))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.status == 200 and canned.body is None:
            return Canned(200, {"ok": True, "result": {"message_id": next(_message_ids)}})
        return canned

    @staticmethod
    def rate_limited(retry_after: int) -> Canned:
        return Canned(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
        )

    @staticmethod
    def error(status: int, description: str) -> Canned:
        return Canned(status, {"ok": False, "error_code": status, "description": description})


class FakeSlack(FakeHTTPProvider):
    """Answers like a Slack incoming webhook: 200 "ok", errors as plain text."""

    def __init__(self):
        super().__init__(default=Canned(200, "ok"))


class FakeDiscord(FakeHTTPProvider):
    """Answers like a Discord webhook executed with ?wait=true."""

    def __init__(self):
        super().__init__(default=Canned(200))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.status == 200 and canned.body is None:
            return Canned(200, {"id": str(next(_message_ids)), "type": 0})
        return canned

    @staticmethod
    def rate_limited(retry_after: float) -> Canned:
        return Canned(
            429,
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            headers={"Retry-After": str(int(retry_after) + 1)},
        )


class RecordingSMTPHandler:
    """aiosmtpd handler: keeps every message; refuses recipients it is told to."""

    def __init__(self):
        self.messages: list[dict[str, Any]] = []
        self.refuse: dict[str, str] = {}  # address → SMTP reply, e.g. "550 5.1.1 no such user"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.content.decode("utf8", errors="replace"),
            }
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    # aiosmtpd's Controller checks readiness by connecting to its port, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeSMTP:
    def __init__(self):
        self.handler = RecordingSMTPHandler()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=_free_port())

    def start(self) -> "FakeSMTP":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.handler.messages

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} emails, got {len(self.messages)}")


def basic_auth(received: Received) -> tuple[str, str]:
    """The user and password of a request's HTTP basic auth (Twilio's, Mailgun's)."""
    scheme, _, encoded = received.headers.get("Authorization", "").partition(" ")
    assert scheme == "Basic", received.headers
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    return user, password
