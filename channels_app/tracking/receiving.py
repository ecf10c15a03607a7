"""/t/o/<token> and /t/c/<token>: check the token, store the hit as a provider report,
and say what to answer. Applying it is the reports worker's job (channels_app.callbacks
.processing → channels_app.reports), as for every provider's report.

A person is on the other end (their mail client fetching the pixel, their browser
following a link), so once the token is good the answer never depends on whether the hit
is recorded: a repeat, a hit over the rate or the cap, a channel whose tracking was turned
off since, all still get the pixel or the redirect, and are simply not stored. A bad token
stores nothing and gets a 404.

What is recorded is bounded:
- a repeat of the same open, or of a click on the same link, within
  ONEPING_TRACKING_REPEAT_SECONDS is one hit (image proxies and link scanners fetch the
  same URL several times for one person): the first one adds a key to the shared cache;
- ONEPING_TRACKING_RATE_PER_DELIVERY / …_PER_ACCOUNT (oneping.ratelimit);
- ONEPING_TRACKING_MAX_PER_DELIVERY opens and clicks per delivery, counted as applied
  (Delivery.opens + clicks): the rate per delivery bounds what may be waiting for the
  worker beyond it.
The payload keeps the link, the user agent (truncated) and a keyed hash of the client's
address, never the address itself.
"""

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import salted_hmac

from channels_app.callbacks.receiving import store
from channels_app.integrations.callbacks import CLICKED, OPENED, CallbackProvider, ParsedReport
from channels_app.models import ChannelConfig, Delivery
from channels_app.tracking import html, tokens
from oneping import logs, ratelimit

USER_AGENT_LIMIT = 256
LINKS_CACHE_SECONDS = 600
FLAGS = {OPENED: "track_opens", CLICKED: "track_clicks"}


class OwnTracking(CallbackProvider):
    """Who the stored reports say reported them ("oneping"). It receives no callbacks (it
    is in no callback registry): receiving.store takes a provider for its name."""

    name: ClassVar[str] = "oneping"
    title: ClassVar[str] = "oneping's tracking"


OWN_TRACKING = OwnTracking()


@dataclass(frozen=True)
class Hit:
    """What a request tells about who fetched the URL."""

    user_agent: str
    remote_ip: str | None
    # GET: a client fetching it. HEAD: a link checker asking about it, answered, not stored.
    counts: bool = True


def opened(token: str, hit: Hit) -> bool:
    """An open of the delivery the token names, stored when it should be; False when the
    token names no delivery of ours (404)."""
    delivery_id = tokens.read_open(token)
    delivery = _delivery(delivery_id) if delivery_id else None
    if delivery is None:
        return False
    _record(delivery, OPENED, "open", hit)
    return True


def clicked(token: str, hit: Hit) -> str | None:
    """The link a click token names, found again in its delivery's message (never taken
    from the request), the click stored when it should be; None when the token names no
    delivery of ours or no link of its message (404)."""
    click = tokens.read_click(token)
    delivery = _delivery(click.delivery_id) if click else None
    if click is None or delivery is None:
        return None
    url = html.link_for(_links(delivery), click)
    if url is None:
        return None
    _record(delivery, CLICKED, f"click{click.index}", hit, url=url)
    return url


def _links(delivery: Delivery) -> list[str]:
    """The message's links, rendered once for a while: every click on a long message would
    otherwise render its Markdown again (a body never changes once accepted)."""
    return cache.get_or_set(
        f"tracking:links:{delivery.pk}",
        lambda: html.links_of(delivery.message.body),
        timeout=LINKS_CACHE_SECONDS,
    )


def _delivery(delivery_id: str) -> Delivery | None:
    # Without its message: an open needs none, a click only when its links are not cached.
    return Delivery.objects.filter(pk=delivery_id).first()


def _record(delivery: Delivery, status: str, what: str, hit: Hit, url: str = "") -> None:
    logs.bind(account_id=delivery.account_id)
    channel = ChannelConfig.objects.filter(
        account_id=delivery.account_id, kind=delivery.channel
    ).first()
    if not hit.counts or channel is None or not channel.config.get(FLAGS[status]):
        return
    if not delivery.provider_message_id:
        # Reports find their delivery by its provider message id, recorded by the worker
        # right after the SMTP server accepted the email: a hit in between is not kept.
        return
    if _repeated(delivery, what) or _rate_limited(delivery):
        return
    if delivery.opens + delivery.clicks >= settings.ONEPING_TRACKING_MAX_PER_DELIVERY:
        return
    payload: dict[str, Any] = {"user_agent": hit.user_agent[:USER_AGENT_LIMIT]}
    if url:
        payload["click_url"] = url
    if hit.remote_ip:
        payload["client"] = salted_hmac("oneping.tracking.client", hit.remote_ip).hexdigest()[:16]
    report = ParsedReport(
        provider_message_id=delivery.provider_message_id,
        status=status,
        provider_status=status,
        # Each hit its own report: repeats were collapsed above, by time.
        dedup_key=f"{delivery.pk}:{what}:{uuid.uuid4().hex}",
        payload=payload,
        provider_timestamp=timezone.now(),
    )
    store(channel, OWN_TRACKING, [report])


def _repeated(delivery: Delivery, what: str) -> bool:
    seconds = settings.ONEPING_TRACKING_REPEAT_SECONDS
    if seconds <= 0:
        return False
    # add() is atomic (Redis SET NX): of two hits at once, one finds the other's key.
    return not cache.add(f"tracking:seen:{delivery.pk}:{what}", 1, timeout=seconds)


def _rate_limited(delivery: Delivery) -> bool:
    return (
        ratelimit.first_exceeded(
            [
                ratelimit.Limit(
                    "delivery",
                    f"tracking:delivery:{delivery.pk}",
                    settings.ONEPING_TRACKING_RATE_PER_DELIVERY,
                    settings.ONEPING_TRACKING_BURST_PER_DELIVERY,
                ),
                ratelimit.Limit(
                    "account",
                    f"tracking:account:{delivery.account_id}",
                    settings.ONEPING_TRACKING_RATE_PER_ACCOUNT,
                    settings.ONEPING_TRACKING_BURST_PER_ACCOUNT,
                ),
            ]
        )
        is not None
    )
