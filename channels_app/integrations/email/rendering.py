"""An email's two parts from a message body: the text as written, and HTML rendered from
it as basic Markdown (One-Ping's contract: **bold**, _italic_, `code`, [links](…), lists,
headings, quotes).

The body is the customer's (or, through inbound rules, a third party's) text: raw HTML in
it is escaped by Markdown's renderer settings and the result is sanitised again by nh3
(ammonia's allow-list), so an email never carries a script, a style or an event handler,
and links are only http(s) or mailto.
"""

from dataclasses import dataclass

import markdown
import nh3

# Bodies are capped at acceptance; this bounds rendering time whatever the cap becomes.
MAX_MARKDOWN_CHARS = 200_000
TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "a", "ul", "ol", "li",
    "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str


def render(body: str) -> Rendered:
    """The plain part (the body itself) and the sanitised HTML part."""
    return Rendered(text=body, html=to_html(body))


def to_html(body: str) -> str:
    if len(body) > MAX_MARKDOWN_CHARS:
        # Too long to render safely: shown as preformatted text.
        return sanitise(f"<pre>{_escape(body)}</pre>")
    return sanitise(
        markdown.markdown(_escape(body), extensions=["sane_lists"], output_format="html")
    )


def sanitise(html: str) -> str:
    """Only the allowed tags and attributes, links only to http(s) and mailto; everything
    else removed (script and style with their content) or escaped."""
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def _escape(text: str) -> str:
    """Raw HTML in the body is text, not markup (Markdown passes HTML through as is).
    Only < and & are escaped: > stays, so Markdown's "> quote" still works."""
    return text.replace("&", "&amp;").replace("<", "&lt;")
