"""A local stand-in for Slack, Discord, the Telegram Bot API, Twilio's Messages API, the
WhatsApp Cloud API and the send APIs of Postmark, Mailgun and Resend (stdlib only).

    python bench/sink.py [PORT]          # default 9000

It answers every POST the way the real service would on success and prints what arrived,
so the README walkthrough and the benchmarks work with no internet:
- /bot<token>/sendMessage          → Telegram's {"ok": true, "result": {"message_id": …}}
- any path with ?wait=true         → Discord's message object {"id": …}
- /2010-04-01/Accounts/<sid>/Messages.json → Twilio's 201 message resource {"sid": "SM…", …}
  (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource)
- /<version>/<phone number id>/messages → the Cloud API's {"messages": [{"id": "wamid…"}]}
  (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages)
- /email                           → Postmark's {"MessageID": …, "ErrorCode": 0, "Message": "OK"}
  (https://postmarkapp.com/developer/api/email-api#send-a-single-email)
- /v3/<domain>/messages            → Mailgun's {"id": "<…@domain>", "message": "Queued. Thank you."}
  (https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages)
- /emails                          → Resend's {"id": …}
  (https://resend.com/docs/api-reference/emails/send-email)
- anything else                    → Slack's "ok"

Point oneping at it with ONEPING_TWILIO_API_BASE / ONEPING_WHATSAPP_API_BASE /
ONEPING_TELEGRAM_API_BASE / ONEPING_POSTMARK_API_URL / ONEPING_RESEND_API_URL=
http://127.0.0.1:9000 and ONEPING_MAILGUN_API_URL=http://127.0.0.1:9000/v3 (README).
"""

import itertools
import json
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

_ids = itertools.count(1)
QUIET = "--quiet" in sys.argv
# `--record FILE`: the arrival time of every POST whose body carries PROBE, appended to FILE
# as one JSON line ({"t": epoch seconds, "path", "body"}), for the bench's end-to-end
# latency (bench/latency.py). Other bodies cost one substring search.
PROBE = b"latency-probe"
RECORD = sys.argv[sys.argv.index("--record") + 1] if "--record" in sys.argv else None
_record_lock = threading.Lock()


def record(arrived: float, path: str, body: bytes) -> None:
    line = json.dumps({"t": arrived, "path": path, "body": body.decode(errors="replace")[:4000]})
    with _record_lock, open(RECORD, "a") as out:
        out.write(line + "\n")


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
        if RECORD and PROBE in body:
            record(time.time(), self.path.split("?", 1)[0], body)
        if not QUIET:
            print(f"POST {self.path}  {body.decode(errors='replace')[:500]}", flush=True)
        path = self.path.split("?", 1)[0]
        if "/sendMessage" in path:
            self._answer({"ok": True, "result": {"message_id": next(_ids)}})
        elif path.startswith("/2010-04-01/Accounts/") and path.endswith("/Messages.json"):
            form = parse_qs(body.decode(errors="replace"))
            sid = f"SM{next(_ids):032x}"
            self._answer(
                {
                    "sid": sid,
                    "account_sid": path.split("/")[3],
                    "to": form.get("To", [""])[0],
                    "from": form.get("From", [None])[0],
                    "messaging_service_sid": form.get("MessagingServiceSid", [None])[0],
                    "body": form.get("Body", [""])[0],
                    "status": "queued",
                    "num_segments": "1",
                    "error_code": None,
                    "error_message": None,
                },
                status=201,
            )
        elif path == "/email":
            to = (json.loads(body or b"{}") or {}).get("To", "")
            self._answer(
                {
                    "To": to,
                    "SubmittedAt": datetime.now(UTC).isoformat(),
                    "MessageID": str(uuid.uuid4()),
                    "ErrorCode": 0,
                    "Message": "OK",
                }
            )
        elif path.startswith("/v3/") and path.endswith("/messages"):
            domain = path.split("/")[2]
            self._answer({"id": f"<{next(_ids):020d}@{domain}>", "message": "Queued. Thank you."})
        elif path == "/emails":
            self._answer({"id": str(uuid.uuid4())})
        elif path.endswith("/messages") and path.count("/") == 3:
            to = (json.loads(body or b"{}") or {}).get("to", "")
            self._answer(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                    "messages": [{"id": f"wamid.{next(_ids):020d}"}],
                }
            )
        elif "wait=true" in self.path:
            self._answer({"id": str(next(_ids)), "type": 0})
        else:
            self._answer("ok")

    def _answer(self, payload, status: int = 200) -> None:
        if isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain"
        else:
            data, content_type = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    ports = [arg for arg in sys.argv[1:] if arg.isdigit() and arg != RECORD]
    port = int(ports[0]) if ports else 9000
    print(f"sink listening on http://127.0.0.1:{port}", flush=True)
    SinkServer(("127.0.0.1", port), Sink).serve_forever()
