"""Fixtures for oneping's own open pixel and click links for SMTP and platform mail: an
email channel on the SMTP fake with tracking on, and reading what the recipient got."""

import email
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message as EmailMessage
from urllib.parse import urlsplit

import pytest

from channels_app.models import ChannelConfig, Delivery
from tests.conftest import email_config, send, wait_until

TRACKED = {"track_opens": True, "track_clicks": True}
# A body with two web links (one with a query, whose & the HTML escapes), a mailto link and
# a relative one: only the web links are tracked.
BODY = (
    "Your order **#42** has shipped.\n\n"
    "Track it: [parcel](https://parcels.example.com/track?id=42&lang=en)\n\n"
    "Questions? [Write to us](mailto:help@shop.example.com), see [your orders](/orders) "
    "or [the help pages](https://help.example.com/shipping)."
)
PARCEL = "https://parcels.example.com/track?id=42&lang=en"
HELP = "https://help.example.com/shipping"


@dataclass(frozen=True)
class Received:
    """One email as the recipient's mail client sees it."""

    text: str
    html: str

    @property
    def pixel(self) -> str:
        """The open pixel's path (its URL is under ONEPING_PUBLIC_URL)."""
        [src] = re.findall(r'<img src="([^"]+)"', self.html)
        return path_of(src)

    @property
    def links(self) -> list[str]:
        """Every link of the HTML part, as written there."""
        return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', self.html)]

    @property
    def clicks(self) -> list[str]:
        """The paths of the click-through links, in order."""
        return [path_of(link) for link in self.links if "/t/c/" in link]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://oneping.example.com", url
    return parts.path


def parts_of(data: str) -> Received:
    parsed: EmailMessage = email.message_from_string(data)
    found = {}
    for part in parsed.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf8")
    return Received(text=found["text/plain"], html=found["text/html"])


def tracked_channel(account, smtp, **flags: bool) -> ChannelConfig:
    """`account`'s email channel on the SMTP fake, tracking as `flags` say (both on)."""
    config = {**email_config(smtp), **TRACKED, **flags}
    return ChannelConfig.objects.create(account=account, kind="email", config=config)


@pytest.fixture
def tracked_email(account, smtp, public_url) -> ChannelConfig:
    """`account`'s email channel on the SMTP fake with open and click tracking."""
    return tracked_channel(account, smtp)


@pytest.fixture
def send_tracked(smtp) -> Callable[..., tuple[Delivery, Received]]:
    """Send BODY (or `message`) by email through /api/v1/send and wait for the worker:
    the delivery once "sent", and the email the SMTP fake received."""

    def send_it(
        api, recipient: str = "jane@example.com", message: str = BODY
    ) -> tuple[Delivery, Received]:
        before = len(smtp.messages)
        accepted = send(api, message, channels=["email"], recipient=recipient)
        delivery_id = accepted["deliveries"][0]["id"]
        wait_until(lambda: Delivery.objects.get(pk=delivery_id).status == "sent")
        received = smtp.wait_for(before + 1)[before]
        assert received["to"] == [recipient]
        return Delivery.objects.get(pk=delivery_id), parts_of(received["data"])

    return send_it


@pytest.fixture
def send_tracked_now(smtp) -> Callable[..., tuple[Delivery, Received]]:
    """As send_tracked, with the delivery attempted here rather than by a worker."""
    from channels_app import delivery as delivery_service

    def send_it(api, recipient: str = "jane@example.com", message: str = BODY):
        before = len(smtp.messages)
        # Attempted at once, one after the other: unpaced, or the second would wait for
        # the channel's next token (the subject here is tracking, not pacing).
        ChannelConfig.objects.filter(kind="email").update(unpaced=True)
        accepted = send(api, message, channels=["email"], recipient=recipient)
        delivery_id = accepted["deliveries"][0]["id"]
        delivery_service.attempt(delivery_id)
        delivery = Delivery.objects.get(pk=delivery_id)
        assert delivery.status == "sent", delivery.last_error
        return delivery, parts_of(smtp.wait_for(before + 1)[before]["data"])

    return send_it
