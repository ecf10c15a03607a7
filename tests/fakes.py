"""Fake providers: real servers on loopback that behave like Telegram, Slack, Discord and SMTP.

Each HTTP fake records every request and answers from a script (a queue of canned
responses), falling back to the provider's normal success answer.
"""

import base64
import itertools
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

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
    # time.monotonic() when the request reached the fake: pacing tests count arrivals per
    # window and compare their order.
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


def by_path(received: Received) -> str:
    """A limit's default key: the URL path (one webhook URL, one bot's method)."""
    return received.path.partition("?")[0]


@dataclass
class RateWindow:
    """A provider's limit on bursts: at most `count` requests per `per_seconds`, counted
    per key (what the provider counts: a webhook, a chat…). Sliding (any `per_seconds`
    span; Slack's and Telegram's published "per second" limits) or fixed (a window that
    starts with its first request and resets `per_seconds` later, as Discord announces
    its buckets: https://discord.com/developers/docs/topics/rate-limits#header-format).
    Refused requests do not count."""

    count: int
    per_seconds: float
    key: Callable[[Received], str] = by_path
    fixed: bool = False
    # Set: every answer tells the window in Discord's X-RateLimit-* headers, this bucket id.
    bucket: str | None = None
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, received: Received) -> tuple[float, int, float]:
        """(seconds to wait before this request would be allowed: 0.0 when it is, and
        then it counts; requests left in the window; seconds until the window resets)."""
        now, seen = received.at, self._seen.setdefault(self.key(received), deque())
        if self.fixed and seen and now >= seen[0] + self.per_seconds:
            seen.clear()
        while not self.fixed and seen and seen[0] <= now - self.per_seconds:
            seen.popleft()
        frees_at = seen[0] + self.per_seconds if seen else now + self.per_seconds
        if len(seen) >= self.count:
            return frees_at - now, 0, frees_at - now
        seen.append(now)
        return 0.0, self.count - len(seen), seen[0] + self.per_seconds - now

    def headers(self, remaining: int, reset_after: float) -> dict[str, str]:
        """The window as Discord announces it on an answer (none unless `bucket` is set)."""
        if self.bucket is None:
            return {}
        return {
            "X-RateLimit-Limit": str(self.count),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5; a worker opening a batch of connections at once
    # would see SYNs dropped and retried a second later, which no real provider does.
    request_queue_size = 1024
    daemon_threads = True


class LoopbackServer:
    """A fake's own HTTP server on a free loopback port, served by a daemon thread:
    `_serve(handler)` in the fake's __init__, then start() and stop()."""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeHTTPProvider(LoopbackServer):
    def __init__(self, default: Canned):
        self.default = default
        self.script: deque[Canned] = deque()
        self.requests: list[Received] = []
        self.limits: list[RateWindow] = []
        self.refused: list[Received] = []  # answered 429 by a limit
        self._lock = threading.Lock()
        self._serve(self._handler_class())

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

    def limit(
        self, count: int, per_seconds: float, key: Callable[[Received], str] = by_path
    ) -> RateWindow:
        """Refuse bursts the way providers do: a request beyond `count` in any
        `per_seconds` (per `key`: the URL path unless told) is answered with the provider's
        429 (`refusal`), not counted, and kept in `refused`."""
        window = RateWindow(count, per_seconds, key)
        self.limits.append(window)
        return window

    def refusal(self, wait: float) -> Canned:
        """A 429 asking to wait `wait` seconds (Retry-After is whole seconds: RFC 9110
        §10.2.3)."""
        return Canned(429, "rate_limited", headers={"Retry-After": str(max(math.ceil(wait), 1))})

    def respond(self, received: Received) -> Canned:
        with self._lock:
            self.requests.append(received)
            announced: dict[str, str] = {}
            for window in self.limits:
                wait, remaining, reset_after = window.admit(received)
                announced.update(window.headers(remaining, reset_after))
                if wait > 0:
                    self.refused.append(received)
                    canned = self.refusal(wait)
                    break
            else:
                canned = self.script.popleft() if self.script else self.default
            if announced:
                canned = replace(canned, headers={**canned.headers, **announced})
            return canned

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

    def refusal(self, wait: float) -> Canned:
        return self.rate_limited(max(math.ceil(wait), 1))


def telegram_chat(received: Received) -> str:
    """A Telegram limit's key per chat (sendMessage's chat_id), for `limit(..., key=)`."""
    return f"{by_path(received)} {received.json().get('chat_id')}"


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
            # replace(): keeps the X-RateLimit-* headers of an announced bucket
            return replace(canned, body={"id": str(next(_message_ids)), "type": 0})
        return canned

    @staticmethod
    def rate_limited(retry_after: float) -> Canned:
        return Canned(
            429,
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            headers={"Retry-After": str(int(retry_after) + 1)},
        )

    def refusal(self, wait: float) -> Canned:
        return self.rate_limited(round(wait, 3))

    def announce(self, count: int, per_seconds: float, bucket: str = "d1sc0rdbuck3t") -> None:
        """A webhook bucket of `count` requests per `per_seconds` (a fixed window), told on
        every answer in X-RateLimit-* headers as Discord does, and enforced with 429s:
        https://discord.com/developers/docs/topics/rate-limits#header-format"""
        self.limits.append(RateWindow(count, per_seconds, fixed=True, bucket=bucket))


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
