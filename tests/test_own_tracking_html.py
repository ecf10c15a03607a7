"""What oneping's own tracking does to an email's HTML part (channels_app.tracking.html):
the pixel last, web links through /t/c/ numbered in order, everything else as it was."""

from html import unescape

import pytest

from channels_app.integrations.email.rendering import render
from channels_app.tracking import html, tokens

BODY = (
    "See [a](https://a.example.com/x?p=1&q=2), [b](http://b.example.com/) and "
    "[mail](mailto:x@example.com); [a again](https://a.example.com/x?p=1&q=2)."
)
BOTH = {"track_opens": True, "track_clicks": True}


@pytest.fixture
def public(settings) -> None:
    settings.ONEPING_PUBLIC_URL = "https://oneping.example.com"


def test_links_are_numbered_in_order_and_each_token_names_its_own(public):
    instrumented = html.instrument(render(BODY).html, "dlv_x", BOTH)

    hrefs = [unescape(href) for _, href, _ in html.LINK.findall(instrumented)]
    assert hrefs[2] == "mailto:x@example.com"
    clicks = [href for href in hrefs if href.startswith("https://oneping.example.com/t/c/")]
    assert len(clicks) == 3  # the same URL twice is two links
    read = [tokens.read_click(href.rsplit("/", 1)[1]) for href in clicks]
    assert [(click.delivery_id, click.index) for click in read] == [
        ("dlv_x", 0),
        ("dlv_x", 1),
        ("dlv_x", 2),
    ]
    links = html.links_of(BODY)
    assert links == [
        "https://a.example.com/x?p=1&q=2",
        "http://b.example.com/",
        "https://a.example.com/x?p=1&q=2",
    ]
    assert [html.link_for(links, click) for click in read] == links
    assert instrumented.endswith(html.PIXEL.split("{src}")[1])


def test_the_pixel_goes_before_the_end_of_a_whole_document(public):
    document = "<html><body><p>Hi</p></BODY></html>"

    instrumented = html.instrument(document, "dlv_x", {"track_opens": True})

    assert instrumented.startswith("<html><body><p>Hi</p><img src=")
    assert instrumented.endswith("></BODY></html>")


@pytest.mark.parametrize(
    "config",
    [{}, {"track_opens": False, "track_clicks": False}],
)
def test_without_the_flags_the_html_is_unchanged(public, config):
    original = render(BODY).html

    assert html.instrument(original, "dlv_x", config) == original


def test_without_a_public_url_the_html_is_unchanged(settings):
    settings.ONEPING_PUBLIC_URL = ""
    original = render(BODY).html

    assert html.instrument(original, "dlv_x", BOTH) == original
