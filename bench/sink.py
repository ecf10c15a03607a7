"""A local stand-in for Slack, Discord and the Telegram Bot API (stdlib only).

    python bench/sink.py [PORT]          # default 9000

It answers every POST the way the real service would on success and prints what arrived,
so the README walkthrough and the benchmarks work with no internet:
- /bot<token>/sendMessage          → Telegram's {"ok": true, "result": {"message_id": …}}
- any path with ?wait=true         → Discord's message object {"id": …}
- anything else                    → Slack's "ok"
"""

import itertools
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_ids = itertools.count(1)
QUIET = "--quiet" in sys.argv


class SinkServer(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a worker opening 16 connections at once
    # would see SYNs dropped and retried a second later, which no real provider does.
    request_queue_size = 1024
    daemon_threads = True


class Sink(BaseHTTPRequestHandler):
    # Keep-alive, as the real APIs: the transports reuse their connections. Without
    # TCP_NODELAY the body (a second small write after the headers) waits for the
    # client's delayed ACK on a kept-alive connection: 40 ms a request.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not QUIET:
            print(f"POST {self.path}  {body.decode(errors='replace')[:500]}", flush=True)
        if "/sendMessage" in self.path:
            self._answer({"ok": True, "result": {"message_id": next(_ids)}})
        elif "wait=true" in self.path:
            self._answer({"id": str(next(_ids)), "type": 0})
        else:
            self._answer("ok")

    def _answer(self, payload) -> None:
        if isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain"
        else:
            data, content_type = json.dumps(payload).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    ports = [arg for arg in sys.argv[1:] if arg.isdigit()]
    port = int(ports[0]) if ports else 9000
    print(f"sink listening on http://127.0.0.1:{port}", flush=True)
    SinkServer(("127.0.0.1", port), Sink).serve_forever()
