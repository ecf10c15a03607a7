"""Errors never carry a secret: real connection failures (a closed port, a server that never
answers, one that hangs up) on secret URLs leave no part of the secret in a delivery's
last_error, its timeline, an event's payload, a webhook attempt, the API or the log."""

import contextlib
import json
import logging
import socket
import threading

import pytest

from channels_app import delivery as delivery_service
from channels_app.models import ChannelConfig, Delivery, TimelineEntry
from tests.conftest import TELEGRAM_TOKEN
from webhooks import sending
from webhooks.models import Event, WebhookAttempt, WebhookDelivery

SECRETS = {
    "slack": ["T0SLACKTEAM", "B0SLACKHOOK", "slacksecretpart"],
    "discord": ["918273645", "discordsecrettoken"],
    "telegram": [TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[1]],
    "endpoint": ["endpointsecretpath", "endpointsecretquery"],
    "callback": ["callbacksecretpath", "callbacksecretquery"],
}


class BrokenServer:
    """A TCP server on loopback that fails the way real ones do.

    refused: nothing listens on the port. silent: accepts, reads, never answers (a timeout).
    hangup: accepts, reads the request, closes without a word."""

    def __init__(self, mode: str):
        self.mode = mode
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        if mode == "refused":
            self._sock.close()
            return
        self._sock.listen(64)
        self._sock.settimeout(0.1)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            if self.mode == "hangup":
                conn.close()
            else:
                self._held.append(conn)

    def stop(self) -> None:
        self._stop.set()
        for conn in self._held:
            conn.close()
        self._sock.close()


@pytest.mark.parametrize("mode", ["refused", "silent", "hangup"])
def test_connection_failures_on_secret_urls_leak_no_secret(api, account, settings, caplog, mode):
    caplog.set_level(logging.DEBUG)
    settings.ONEPING_HTTP_READ_TIMEOUT = 0.3
    settings.ONEPING_WEBHOOK_TIMEOUT_SECONDS = 0.3
    server = BrokenServer(mode)
    base = f"http://127.0.0.1:{server.port}"
    settings.ONEPING_TELEGRAM_API_BASE = base
    try:
        # Given every kind of secret URL pointing at the broken server
        for kind, config in {
            "slack": {"webhook_url": f"{base}/services/T0SLACKTEAM/B0SLACKHOOK/slacksecretpart"},
            "discord": {"webhook_url": f"{base}/api/webhooks/918273645/discordsecrettoken"},
            "telegram": {"bot_token": TELEGRAM_TOKEN},
        }.items():
            ChannelConfig.objects.create(account=account, kind=kind, config=config)
        endpoint = api.post_json(
            "/api/v1/webhook-endpoints",
            {"url": f"{base}/hooks/endpointsecretpath?token=endpointsecretquery"},
        )
        assert endpoint.status_code == 201, endpoint.content

        # When a message is sent on each and its status events go out
        accepted = api.post_json(
            "/api/v1/send",
            {
                "message": "Disk full",
                "channels": ["slack", "discord", "telegram"],
                "recipient": "4242",
                "callback_url": f"{base}/cb/callbacksecretpath?sig=callbacksecretquery",
            },
        )
        assert accepted.status_code == 202, accepted.content
        for delivery in accepted.json()["deliveries"]:
            delivery_service.attempt(delivery["id"])
        pending = WebhookDelivery.objects.filter(status="pending").values_list("pk", flat=True)
        for pk in pending:
            sending.attempt(pk)
    finally:
        server.stop()

    # Then every delivery failed transiently, saying how and with whom
    deliveries = list(Delivery.objects.all())
    assert {d.status for d in deliveries} == {"retrying"}
    host = f"127.0.0.1:{server.port}"
    assert all(host in d.last_error for d in deliveries), [d.last_error for d in deliveries]
    expected = {
        "refused": ("connection refused",),
        "silent": ("timed out",),
        "hangup": ("closed the connection", "reset the connection"),  # FIN or RST: timing
    }[mode]
    assert all(any(e in d.last_error for e in expected) for d in deliveries), [
        d.last_error for d in deliveries
    ]
    attempts = list(WebhookAttempt.objects.all())
    assert len(attempts) == 6  # 3 message.retrying events, to the endpoint and the callback
    assert all(host in a.error and a.status_code is None for a in attempts)

    # And no part of any secret is in what members, receivers or the log can read
    shown = api.get(f"/api/v1/messages/{accepted.json()['id']}").json()
    shown.pop("callback_url")  # the URL the caller gave, shown back as given, not an error
    readable = "\n".join(
        [
            *(d.last_error for d in deliveries),
            *TimelineEntry.objects.values_list("detail", flat=True),
            *Event.objects.values_list("body", flat=True),
            *(a.error for a in attempts),
            *(a.response_body for a in attempts),
            *WebhookDelivery.objects.values_list("last_error", flat=True),
            json.dumps(shown),
            api.get("/api/v1/events").content.decode(),
            caplog.text,
        ]
    )
    errors = [
        json.loads(body)["data"]["error"] for body in Event.objects.values_list("body", flat=True)
    ]
    assert all(errors), errors
    for owner, parts in SECRETS.items():
        for part in parts:
            assert part not in readable, f"{owner} secret part {part!r} leaked"
