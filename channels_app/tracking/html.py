"""Instrumenting an email's HTML part at send time, and finding its links again when one
is clicked.

The HTML is rendering.render's: Markdown sanitised by nh3, whose serializer writes every
attribute double-quoted with `"` and `&` escaped, so one regular expression finds each
link's href exactly; a `"` cannot occur inside a value, and `<` in text is escaped. The
click view runs the same renderer on the stored message body and this same expression:
the link a click token names is found by the same rule that numbered it, and a redirect
only ever goes to a link of that message (the request carries no URL to trust).
"""

import itertools
import re
from html import escape, unescape
from typing import Any
from urllib.parse import urlsplit

from django.urls import reverse

from channels_app.integrations.email.rendering import render
from channels_app.tracking import tokens
from oneping.public_url import absolute_url

LINK = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")', re.IGNORECASE)
# At the end of the HTML part. Width and height as attributes (mail clients drop CSS);
# not display:none, which some clients do not fetch.
PIXEL = '<img src="{src}" width="1" height="1" alt="" style="border:0;width:1px;height:1px">'


def instrument(html: str, delivery_id: str, config: dict[str, Any]) -> str:
    """The HTML part as sent: with the open pixel (track_opens) and click-through links
    (track_clicks) when the channel's config asks and ONEPING_PUBLIC_URL says where we are;
    otherwise as it was (a worker has no request to build URLs from)."""
    opens, clicks = bool(config.get("track_opens")), bool(config.get("track_clicks"))
    if not (opens or clicks) or absolute_url("/") is None:
        return html
    if clicks:
        numbers = itertools.count()

        def through_us(match: re.Match[str]) -> str:
            url = unescape(match.group(2))
            if not is_web(url):
                return match.group(0)  # mailto:, relative: left as they are, not counted
            token = tokens.click_token(delivery_id, next(numbers), url)
            click = absolute_url(reverse("tracking-click", args=[token]))
            return f"{match.group(1)}{escape(click or url)}{match.group(3)}"

        html = LINK.sub(through_us, html)
    if opens:
        pixel = absolute_url(reverse("tracking-open", args=[tokens.open_token(delivery_id)]))
        html = _at_the_end(html, PIXEL.format(src=escape(pixel or "")))
    return html


def _at_the_end(html: str, tag: str) -> str:
    """`tag` last in the document: before </body> in a whole document, else appended."""
    end = html.lower().rfind("</body>")
    return html + tag if end == -1 else html[:end] + tag + html[end:]


def links_of(body: str) -> list[str]:
    """The http(s) links of a message body's HTML part, in the order instrument() numbers
    them."""
    hrefs = (unescape(match.group(2)) for match in LINK.finditer(render(body).html))
    return [href for href in hrefs if is_web(href)]


def link_for(links: list[str], click: tokens.Click) -> str | None:
    """The link a click token names, if the message's `links` (links_of) have it: the one
    at its position whose digest matches, else (a renderer that numbers differently since)
    the first link with that digest; None when the message has no such link."""
    if click.index < len(links) and tokens.url_digest(links[click.index]) == click.digest:
        return links[click.index]
    return next((url for url in links if tokens.url_digest(url) == click.digest), None)


def is_web(url: str) -> bool:
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # e.g. an unclosed "[" in the host
        return False
    return scheme.lower() in ("http", "https")
