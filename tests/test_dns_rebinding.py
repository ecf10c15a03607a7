"""DNS rebinding: a name answers the URL guard with a public address and the connection,
a moment later, with 127.0.0.1. Guarded connections must go to the address that was
checked (HTTP: oneping.http.PinnedAdapter; SMTP: oneping.smtp), with Host, SNI and the
certificate still checked against the name.

The guard is on here. 127.0.0.2 plays a public address: the tests tell the guard so.
"""

import ipaddress
import socket
import ssl
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from channels_app import delivery as delivery_service
from channels_app.models import ChannelConfig, Delivery
from oneping import http, urlguard
from oneping.urlguard import UrlNotAllowed, check_url
from tests.fakes import Canned, FakeHTTPProvider, FakeSMTP, RecordingSMTPHandler, _free_port
from webhooks import sending
from webhooks.models import WebhookAttempt, WebhookDelivery

NAME = "rebind.test"
CHECKED = "127.0.0.2"  # what the name answers the guard ("public" in these tests)
REBOUND = "127.0.0.1"  # what it answers everyone else a moment later


@pytest.fixture
def rebinding(monkeypatch, settings):
    """Guard on; NAME resolves to CHECKED when oneping.urlguard asks, to REBOUND otherwise."""
    settings.ONEPING_ALLOW_PRIVATE_URLS = False
    real_getaddrinfo = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host.rstrip(".").endswith(NAME):
            caller = sys._getframe(1).f_globals.get("__name__")
            asked.append(caller)
            host = CHECKED if caller == "oneping.urlguard" else REBOUND
        return real_getaddrinfo(host, port, *args, **kwargs)

    real_is_public = urlguard._is_public

    def is_public(address):
        return address == ipaddress.ip_address(CHECKED) or real_is_public(address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(urlguard, "_is_public", is_public)
    return asked


@pytest.fixture
def loopback_server():
    """A receiver on 127.0.0.1 only: what the rebound name points at."""
    server = FakeHTTPProvider(default=Canned(200, "ok")).start()
    yield server
    server.stop()


def test_http_to_a_rebinding_name_never_reaches_loopback(api, account, rebinding, loopback_server):
    # Given a Slack channel, an endpoint and a callback URL on a name that rebinds
    base = loopback_server.url.replace(REBOUND, NAME)
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{base}/services/T/B/X"}
    )
    endpoint = api.post_json("/api/v1/webhook-endpoints", {"url": f"{base}/hooks"})
    assert endpoint.status_code == 201, endpoint.content

    # When a message is sent and its events go out
    accepted = api.post_json(
        "/api/v1/send",
        {"message": "hi", "channels": ["slack"], "recipient": "ops", "callback_url": f"{base}/cb"},
    )
    assert accepted.status_code == 202, accepted.content
    delivery_service.attempt(accepted.json()["deliveries"][0]["id"])
    for pk in WebhookDelivery.objects.filter(status="pending").values_list("pk", flat=True):
        sending.attempt(pk)

    # Then the loopback server received nothing: every connection went to the checked address
    assert loopback_server.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == "retrying"
    assert "connection refused" in delivery.last_error
    assert WebhookAttempt.objects.count() == 2
    assert all("connection refused" in a.error for a in WebhookAttempt.objects.all())
    assert "oneping.urlguard" in rebinding  # the guard did look the name up


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.server.server_address[0], self.headers["Host"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _serve(address: str, port: int = 0, tls: ssl.SSLContext | None = None):
    server = ThreadingHTTPServer((address, port), _Recorder)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    return server


def test_the_pinned_connection_reaches_the_checked_address_naming_the_host(rebinding):
    _Recorder.seen = []
    server = _serve(CHECKED)
    port = server.server_address[1]
    try:
        response = http.post(f"http://{NAME}:{port}/hook", json={"a": 1})
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 200
    assert _Recorder.seen == [(CHECKED, f"{NAME}:{port}")]


def _certificate(tmp_path, name: str) -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for `name`, and the CA file that signed it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oneping test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context, str(tmp_path / "ca.pem")


@pytest.mark.parametrize("certified", [f"hooks.{NAME}", f"other.{NAME}"])
def test_tls_to_the_pinned_address_verifies_the_name(rebinding, monkeypatch, tmp_path, certified):
    """SNI and certificate checks are on the URL's name, not on the address connected to:
    the right certificate passes, another name's is refused."""
    context, ca_file = _certificate(tmp_path, certified)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    _Recorder.seen = []
    server = _serve(CHECKED, tls=context)
    port = server.server_address[1]
    url = f"https://hooks.{NAME}:{port}/hook"
    try:
        if certified == f"hooks.{NAME}":
            assert http.post(url, json={}).status_code == 200
            assert _Recorder.seen == [(CHECKED, f"hooks.{NAME}:{port}")]
        else:
            with pytest.raises(requests.exceptions.SSLError) as caught:
                http.post(url, json={})
            assert "not valid" in http.describe_failure(caught.value, http.host_of(url))
            assert _Recorder.seen == []
    finally:
        server.shutdown()
        server.server_close()


def send_email_through(api, account, port: int) -> None:
    """Configure an email channel on NAME:port, send one message and attempt it here."""
    ChannelConfig.objects.create(
        account=account,
        kind="email",
        config={
            "host": NAME,
            "port": port,
            "username": "",
            "password": "",
            "use_tls": False,
            "use_ssl": False,
            "from_email": "alerts@acme.test",
        },
    )
    accepted = api.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["email"], "recipient": "a@b.test"}
    )
    delivery_service.attempt(accepted.json()["deliveries"][0]["id"])


def test_smtp_to_a_rebinding_name_never_reaches_loopback(api, account, rebinding):
    smtp = FakeSMTP().start()  # on 127.0.0.1 only
    try:
        send_email_through(api, account, smtp.port)
    finally:
        smtp.stop()

    assert smtp.messages == []
    delivery = Delivery.objects.get()
    assert delivery.status == "retrying"
    assert "connection refused" in delivery.last_error


def test_smtp_connects_to_the_checked_address(api, account, rebinding):
    handler = RecordingSMTPHandler()
    controller = Controller(handler, hostname=CHECKED, port=_free_port())
    controller.start()
    try:
        send_email_through(api, account, controller.port)
    finally:
        controller.stop()

    assert Delivery.objects.get().status == "sent"
    assert len(handler.messages) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1 (RFC 6052)
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the cloud metadata address
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 (RFC 8215)
        "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1 (RFC 3056)
        "http://[2002:c0a8:101::1]/",  # 6to4 of 192.168.1.1
        "http://[2001:0:7f00:1::80ff:fffe]/",  # Teredo, server and client 127.0.0.1
        "http://[::7f00:1]/",  # IPv4-compatible 127.0.0.1 (deprecated, RFC 4291)
    ],
)
def test_ipv6_carrying_a_private_ipv4_is_refused(url):
    with pytest.raises(UrlNotAllowed):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["http://[64:ff9b::808:808]/", "http://[2002:808:808::1]/", "https://[2606:4700::1111]/"],
)
def test_ipv6_carrying_a_public_ipv4_is_accepted(url):
    assert check_url(url, allow_private=False) == url


@pytest.mark.parametrize("certified", [f"mail.{NAME}", f"other.{NAME}"])
def test_starttls_to_the_pinned_address_verifies_the_name(
    api, account, rebinding, monkeypatch, tmp_path, certified
):
    context, ca_file = _certificate(tmp_path, certified)
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # what ssl.create_default_context trusts
    handler = RecordingSMTPHandler()
    controller = Controller(handler, hostname=CHECKED, port=_free_port(), tls_context=context)
    controller.start()
    try:
        ChannelConfig.objects.create(
            account=account,
            kind="email",
            config={
                "host": f"mail.{NAME}",
                "port": controller.port,
                "username": "",
                "password": "",
                "use_tls": True,
                "use_ssl": False,
                "from_email": "alerts@acme.test",
            },
        )
        accepted = api.post_json(
            "/api/v1/send", {"message": "hi", "channels": ["email"], "recipient": "a@b.test"}
        )
        delivery_service.attempt(accepted.json()["deliveries"][0]["id"])
    finally:
        controller.stop()

    delivery = Delivery.objects.get()
    if certified == f"mail.{NAME}":
        assert delivery.status == "sent", delivery.last_error
        assert len(handler.messages) == 1
    else:
        assert delivery.status == "retrying"
        assert "certificate" in delivery.last_error and "not valid" in delivery.last_error
        assert handler.messages == []


def test_the_next_checked_address_is_tried_when_one_refuses(monkeypatch, settings):
    """As a resolver-order connect would (say, IPv4 after an unreachable IPv6): only
    checked addresses, and only when the previous one never accepted the connection."""
    settings.ONEPING_ALLOW_PRIVATE_URLS = False
    real_getaddrinfo = socket.getaddrinfo
    refusing = "127.0.0.3"  # nothing listens there

    def getaddrinfo(host, port, *args, **kwargs):
        if host == NAME:
            return [
                *real_getaddrinfo(refusing, port, *args, **kwargs),
                *real_getaddrinfo(CHECKED, port, *args, **kwargs),
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    public = {ipaddress.ip_address(CHECKED), ipaddress.ip_address(refusing)}
    real_is_public = urlguard._is_public
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(urlguard, "_is_public", lambda a: a in public or real_is_public(a))
    _Recorder.seen = []
    server = _serve(CHECKED)
    port = server.server_address[1]
    try:
        assert http.post(f"http://{NAME}:{port}/hook", json={}).status_code == 200
    finally:
        server.shutdown()
        server.server_close()

    assert _Recorder.seen == [(CHECKED, f"{NAME}:{port}")]
