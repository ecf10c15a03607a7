"""A small HTTP/1.1 load generator (stdlib asyncio, keep-alive connections).

Two modes, the same client code underneath, so every figure comes from the same tool:

- closed loop (`saturate`): C connections, each sends its next request as soon as the
  previous answer is in, for a fixed time (or count). Gives the maximum rate.
- open loop (`fixed_rate`): requests are *scheduled* at a constant rate whatever the server
  does, and handed to the first free connection of a pool of C. Latency is measured from the
  scheduled send time, not from when a connection became free, so a stall shows up in the
  percentiles instead of silently lowering the load (no coordinated omission, as in wrk2).

Every loop is bounded by a count and a deadline; a request that gets no answer within
`timeout` seconds counts as an error and its connection is replaced.

Requests are raw bytes made by a `RequestFactory` (request number → bytes), so bodies can
differ per request (inbound webhooks need a fresh body and signature each time).
"""

import asyncio
import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

RequestFactory = Callable[[int], bytes]

GRACE_SECONDS = 10.0  # how long a fixed-rate run waits for late answers after its schedule
# Each connection is closed and opened again after this many requests, as clients and load
# balancers recycle theirs. With C connections opened once, the kernel's accept race could
# hand all of them to one of gunicorn's worker processes for the whole run: the trivial view
# then measured 199-211 req/s at 59 % CPU in some runs and 374-425 req/s at 95 % in others
# (2026-12-03). Recycled connections go to whichever process is free to accept them.
REQUESTS_PER_CONNECTION = 20


def build_request(
    method: str,
    host: str,
    port: int,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: oneping-bench"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_request(
    method: str, host: str, port: int, path: str, payload, headers: dict[str, str] | None = None
) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return build_request(method, host, port, path, body=body, headers=all_headers)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(math.ceil(fraction * len(sorted_values)) - 1, 0)
    return sorted_values[min(rank, len(sorted_values) - 1)]


@dataclass
class RunResult:
    mode: str
    connections: int
    duration_s: float
    target_rate: float | None = None
    scheduled: int = 0
    completed: int = 0
    errors: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""
    client_cpu_pct: float = 0.0
    machine_cpu_pct: float = 0.0

    def ok(self, expected: int) -> int:
        return self.statuses.get(expected, 0)

    def summary(self, expected: int = 200) -> dict:
        lat = sorted(self.latencies)
        ms = lambda value: None if value is None else round(value * 1000, 2)  # noqa: E731
        return {
            "mode": self.mode,
            "connections": self.connections,
            "target_rate": self.target_rate,
            "duration_s": round(self.duration_s, 2),
            "scheduled": self.scheduled,
            "completed": self.completed,
            "expected_status": expected,
            "ok": self.ok(expected),
            "ok_per_s": round(self.ok(expected) / self.duration_s, 1) if self.duration_s else 0,
            "completed_per_s": round(self.completed / self.duration_s, 1) if self.duration_s else 0,
            "unexpected_status": {
                str(code): count for code, count in self.statuses.items() if code != expected
            },
            "errors": self.errors,
            "not_sent": max(self.scheduled - self.completed - self.errors, 0)
            if self.mode == "fixed_rate"
            else 0,
            "first_error": self.first_error,
            "p50_ms": ms(percentile(lat, 0.50)),
            "p95_ms": ms(percentile(lat, 0.95)),
            "p99_ms": ms(percentile(lat, 0.99)),
            "max_ms": ms(lat[-1] if lat else None),
            "client_cpu_pct": round(self.client_cpu_pct, 1),
            "machine_cpu_pct": round(self.machine_cpu_pct, 1),
        }


class _Protocol(asyncio.Protocol):
    """Collects bytes and completes a future once one whole HTTP response is buffered."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            try:
                parsed = _parse_response(self.buffer)
            except ValueError as exc:
                self.waiter.set_exception(exc)
                return
            if parsed is not None:
                status, close, end = parsed
                del self.buffer[:end]
                self.waiter.set_result((status, close))

    def connection_lost(self, exc) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionResetError("the server closed the connection"))


def _parse_response(buffer: bytearray) -> tuple[int, bool, int] | None:
    """(status, close, bytes used) of the first complete response, or None if incomplete."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked, close = 0, False, lines[0].startswith("HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection":
            close = value == "close"
    position = head_end + 4
    if not chunked:
        return (status, close, position + length) if len(buffer) >= position + length else None
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        position = line_end + 2 + size + 2
        if len(buffer) < position:
            return None
        if size == 0:
            return status, close, position


class _Connection:
    """One keep-alive HTTP/1.1 connection; reconnects after errors, `Connection: close` and
    every REQUESTS_PER_CONNECTION requests."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.protocol: _Protocol | None = None
        self.requests = 0

    def close(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()
        self.protocol = None

    async def request(self, raw: bytes) -> int:
        loop = asyncio.get_running_loop()
        if self.protocol is None or self.protocol.lost:
            _, self.protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, self.host, self.port), self.timeout
            )
            self.requests = 0
        protocol = self.protocol
        protocol.waiter = loop.create_future()
        protocol.transport.write(raw)
        status, close = await asyncio.wait_for(protocol.waiter, self.timeout)
        self.requests += 1
        if close or self.requests >= REQUESTS_PER_CONNECTION:
            self.close()
        return status


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies from /proc/stat, to report how loaded the whole box was."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


class _Meter:
    def __enter__(self):
        self.wall, self.cpu, self.busy = time.monotonic(), time.process_time(), _machine_busy()
        return self

    def __exit__(self, *exc) -> None:
        wall = max(time.monotonic() - self.wall, 1e-9)
        self.client_cpu_pct = (time.process_time() - self.cpu) / wall * 100
        busy, total = _machine_busy()
        span = total - self.busy[1]
        self.machine_cpu_pct = (busy - self.busy[0]) / span * 100 if span else 0.0


async def _send(conn: _Connection, raw: bytes, result: RunResult) -> bool:
    try:
        status = await conn.request(raw)
    except (TimeoutError, OSError, ValueError) as exc:
        conn.close()
        result.errors += 1
        if not result.first_error:
            result.first_error = f"{type(exc).__name__}: {exc}"[:300]
        return False
    result.completed += 1
    result.statuses[status] += 1
    return True


async def _saturate(
    host: str,
    port: int,
    make: RequestFactory,
    connections: int,
    duration: float,
    max_requests: int,
    timeout: float,
) -> RunResult:
    result = RunResult(mode="saturate", connections=connections, duration_s=duration)
    counter = iter(range(max_requests))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration

    async def worker() -> None:
        conn = _Connection(host, port, timeout)
        try:
            while loop.time() < deadline:
                index = next(counter, None)
                if index is None:
                    return
                raw = make(index)
                started = loop.time()
                result.scheduled += 1
                if await _send(conn, raw, result):
                    result.latencies.append(loop.time() - started)
        finally:
            conn.close()

    started = loop.time()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.duration_s = loop.time() - started
    return result


async def _fixed_rate(
    host: str,
    port: int,
    make: RequestFactory,
    connections: int,
    rate: float,
    duration: float,
    timeout: float,
) -> RunResult:
    total = max(int(rate * duration), 1)
    result = RunResult(
        mode="fixed_rate", connections=connections, duration_s=duration, target_rate=rate
    )
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    start = loop.time() + 0.05
    hard_deadline = start + duration + GRACE_SECONDS

    async def scheduler() -> None:
        sent = 0
        while sent < total and loop.time() < hard_deadline:
            due = min(total, int((loop.time() - start) * rate) + 1)
            while sent < due:
                queue.put_nowait((start + sent / rate, sent))
                sent += 1
            await asyncio.sleep(max(start + sent / rate - loop.time(), 0))
        result.scheduled = sent
        for _ in range(connections):
            queue.put_nowait(None)

    async def worker() -> None:
        conn = _Connection(host, port, timeout)
        try:
            while True:
                item = await queue.get()
                if item is None or loop.time() > hard_deadline:
                    return
                scheduled_at, index = item
                if await _send(conn, make(index), result):
                    result.latencies.append(loop.time() - scheduled_at)
        finally:
            conn.close()

    await asyncio.gather(scheduler(), *(worker() for _ in range(connections)))
    result.duration_s = max(loop.time() - start, duration)
    return result


def saturate(
    host: str,
    port: int,
    make: RequestFactory,
    *,
    connections: int,
    duration: float,
    max_requests: int = 10_000_000,
    timeout: float = 10.0,
    warmup: float = 0.0,
) -> RunResult:
    """Closed loop: as fast as the server answers, for `duration` seconds."""
    if warmup:
        asyncio.run(_saturate(host, port, make, connections, warmup, max_requests, timeout))
    with _Meter() as meter:
        result = asyncio.run(
            _saturate(host, port, make, connections, duration, max_requests, timeout)
        )
    result.client_cpu_pct, result.machine_cpu_pct = meter.client_cpu_pct, meter.machine_cpu_pct
    return result


def fixed_rate(
    host: str,
    port: int,
    make: RequestFactory,
    *,
    rate: float,
    connections: int,
    duration: float,
    timeout: float = 10.0,
) -> RunResult:
    """Open loop: `rate` requests a second for `duration` seconds, latency from schedule."""
    with _Meter() as meter:
        result = asyncio.run(_fixed_rate(host, port, make, connections, rate, duration, timeout))
    result.client_cpu_pct, result.machine_cpu_pct = meter.client_cpu_pct, meter.machine_cpu_pct
    return result


def sequential(
    host: str, port: int, make: RequestFactory, *, count: int, timeout: float = 30.0
) -> RunResult:
    """One connection, one request after the other: latency of a single caller."""
    return saturate(
        host,
        port,
        make,
        connections=1,
        duration=count * timeout,
        max_requests=count,
        timeout=timeout,
    )


if __name__ == "__main__":
    # Ad-hoc use: python bench/loadgen.py PORT PATH [RATE]  (GET, 32 connections, 5 s)
    import sys

    port, path = int(sys.argv[1]), sys.argv[2]
    raw = build_request("GET", "127.0.0.1", port, path)
    conns = int(os.environ.get("CONNECTIONS", "32"))
    if len(sys.argv) > 3:
        run = fixed_rate(
            "127.0.0.1",
            port,
            lambda i: raw,
            rate=float(sys.argv[3]),
            connections=conns,
            duration=5,
        )
    else:
        run = saturate("127.0.0.1", port, lambda i: raw, connections=conns, duration=5)
    print(json.dumps(run.summary(), indent=2))
