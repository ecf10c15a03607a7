"""Stand-ins for the `sms` and `whatsapp` kinds, for the status-callback tests, and a fake
of the providers' send APIs they (and, once merged, the real kinds) send to.

The real kinds are written on another branch (issue #16's sending half). Until it is
merged, `phone_kinds` registers these stand-ins at runtime, only for a kind the registry
lacks (as tests/fake_kind.py registers "pager"); once merged, the same tests run against the
real kinds. So the stand-ins take the issue's config shapes and send the requests the issue
describes (Twilio's Messages.json form, the Cloud API's JSON), and the tests create their
channels with those shapes.
"""

import itertools
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import requests
from django.conf import settings

from channels_app.integrations import REGISTRY, get_integration
from channels_app.integrations.base import (
    ConfigError,
    Integration,
    Outgoing,
    SendResult,
    TransportError,
    status_callback_url,
)
from tests.fakes import Canned, FakeHTTPProvider, Received

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "f" * 32
SMS_CONFIG = {
    "provider": "twilio",
    "account_sid": TWILIO_SID,
    "auth_token": TWILIO_TOKEN,
    "from": "+14155550100",
}
META_CONFIG = {
    "provider": "meta",
    "phone_number_id": "106540352242922",
    "access_token": "EAAGtest-access-token",
    "app_secret": "meta-app-secret-1234",
    "verify_token": "meta-verify-token-5678",
}
WHATSAPP_TWILIO_CONFIG = {**SMS_CONFIG}
RECIPIENT = "+14155552671"

_ids = itertools.count(1)


class _PhoneStandIn(Integration):
    secret_fields = ("auth_token", "access_token", "app_secret", "verify_token")
    secret_destinations: ClassVar[dict[str, tuple[str, ...]]] = {
        "auth_token": ("account_sid",),
        "access_token": ("phone_number_id",),
        "app_secret": (),
        "verify_token": (),
    }
    success_status = "sent"
    reports_fate = True
    providers: ClassVar[tuple[str, ...]] = ("twilio",)

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        provider = config.get("provider")
        if provider not in self.providers:
            raise ConfigError("provider", f"Use one of {', '.join(self.providers)}.")
        needed = (
            ("account_sid", "auth_token", "from")
            if provider == "twilio"
            else ("phone_number_id", "access_token", "app_secret", "verify_token")
        )
        for name in needed:
            if not isinstance(config.get(name), str) or not config[name]:
                raise ConfigError(name, "Enter a value.")
        return {"provider": provider, **{name: config[name] for name in needed}}

    def address_from_recipient(self, recipient: str) -> str | None:
        return recipient if recipient.startswith("+") else None

    def status_callback_provider(self, config: dict[str, Any]) -> str | None:
        return "whatsapp" if config.get("provider") == "meta" else "twilio"

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        if config["provider"] == "meta":
            url = (
                f"{settings.ONEPING_WHATSAPP_API_BASE}/{settings.ONEPING_WHATSAPP_API_VERSION}"
                f"/{config['phone_number_id']}/messages"
            )
            body = {
                "messaging_product": "whatsapp",
                "to": outgoing.target,
                "type": "text",
                "text": {"body": outgoing.text},
            }
            response = requests.post(url, json=body, timeout=5, allow_redirects=False)
            if response.status_code >= 300:
                raise TransportError(response.text, permanent=response.status_code < 500)
            return SendResult(response.json()["messages"][0]["id"], response.text)
        url = (
            f"{settings.ONEPING_TWILIO_API_BASE}/2010-04-01/Accounts/"
            f"{config['account_sid']}/Messages.json"
        )
        prefix = "whatsapp:" if self.kind == "whatsapp" else ""
        form = {
            "To": prefix + outgoing.target,
            "From": prefix + config["from"],
            "Body": outgoing.text,
        }
        callback = status_callback_url("twilio", outgoing.callback_token)
        if callback:
            form["StatusCallback"] = callback
        response = requests.post(
            url,
            data=form,
            auth=(config["account_sid"], config["auth_token"]),
            timeout=5,
            allow_redirects=False,
        )
        if response.status_code >= 300:
            raise TransportError(response.text, permanent=response.status_code < 500)
        return SendResult(response.json()["sid"], response.text)


class SmsStandIn(_PhoneStandIn):
    kind = "sms"
    title = "SMS"


class WhatsAppStandIn(_PhoneStandIn):
    kind = "whatsapp"
    title = "WhatsApp"
    providers = ("twilio", "meta")


STAND_INS = {
    "sms": "tests.phone_standins.SmsStandIn",
    "whatsapp": "tests.phone_standins.WhatsAppStandIn",
}


@pytest.fixture
def phone_kinds(monkeypatch) -> Iterator[None]:
    """`sms` and `whatsapp` in the registry: the real kinds when present, else stand-ins."""
    added = False
    for kind, path in STAND_INS.items():
        if kind not in REGISTRY:
            monkeypatch.setitem(REGISTRY, kind, path)
            added = True
    yield
    if added:
        # get_integration keeps one instance per kind: forget the stand-ins with their lines.
        get_integration.cache_clear()


class FakePhoneProviders(FakeHTTPProvider):
    """Twilio's Messages.json (201 with an SM sid) and the Cloud API's /messages (200 with a
    wamid) on one loopback server.
    https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
    https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages"""

    def __init__(self):
        super().__init__(default=Canned(200))

    def respond(self, received: Received) -> Canned:
        canned = super().respond(received)
        if canned.body is not None:
            return canned
        n = next(_ids)
        if "/Messages.json" in received.path:
            return Canned(201, {"sid": f"SM{n:032x}", "status": "queued"})
        return Canned(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": RECIPIENT, "wa_id": RECIPIENT[1:]}],
                "messages": [{"id": f"wamid.HBgL{n:024d}"}],
            },
        )


@pytest.fixture
def phone_providers(settings) -> Iterator[FakePhoneProviders]:
    server = FakePhoneProviders().start()
    settings.ONEPING_TWILIO_API_BASE = server.url
    settings.ONEPING_WHATSAPP_API_BASE = server.url
    yield server
    server.stop()
