"""A message body as email: the text as written and an HTML part rendered from its basic
Markdown, sanitised (nothing executable, links only to http(s) and mailto); over SMTP the
two go as one multipart/alternative email."""

import email
from email.policy import default

import pytest

from channels_app.integrations.email.rendering import MAX_MARKDOWN_CHARS, render, sanitise, to_html
from channels_app.models import Delivery
from tests.conftest import send, wait_until


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("**bold** and _italic_", "<p><strong>bold</strong> and <em>italic</em></p>"),
        ("`code`", "<p><code>code</code></p>"),
        (
            "[the order](https://shop.example/42)",
            '<p><a href="https://shop.example/42" rel="noopener noreferrer">the order</a></p>',
        ),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("# Shipped", "<h1>Shipped</h1>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("line one\n\nline two", "<p>line one</p>\n<p>line two</p>"),
        ("a & b < c > d", "<p>a &amp; b &lt; c &gt; d</p>"),
        (
            "[write](mailto:ops@acme.test)",
            '<p><a href="mailto:ops@acme.test" rel="noopener noreferrer">write</a></p>',
        ),
    ],
)
def test_basic_markdown_becomes_html(body, html):
    assert to_html(body) == html


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script> hi",
        "<style>body { display: none }</style> hi",
        '<a href="https://x.example" onclick="steal()">link</a> hi',
        '<img src="x" onerror="steal()"> hi',
        "<iframe src='https://x.example'></iframe> hi",
    ],
)
def test_html_in_the_body_is_shown_as_text_never_as_markup(body):
    html = to_html(body)

    assert "<script" not in html and "<style" not in html and "<img" not in html
    assert "<iframe" not in html and "<a " not in html
    assert html.startswith("<p>&lt;") and html.endswith(" hi</p>")


@pytest.mark.parametrize(
    "body",
    [
        "[hi](javascript:alert(1))",
        "[hi](JAVASCRIPT:alert(1))",
        "[hi](data:text/html;base64,PHNjcmlwdD4=)",
        "[hi](vbscript:msgbox(1))",
    ],
)
def test_links_to_anything_but_http_and_mailto_lose_their_target(body):
    assert to_html(body) == '<p><a rel="noopener noreferrer">hi</a></p>'


def test_the_sanitiser_removes_scripts_styles_handlers_and_javascript_links():
    """The second line of defence, should Markdown ever pass markup through."""
    html = sanitise(
        '<p onclick="steal()">Hi <script>steal()</script><style>p {}</style>'
        '<a href="javascript:steal()" onmouseover="steal()">x</a>'
        '<a href="https://ok.example" target="_blank">ok</a><img src="x"></p>'
    )

    assert html == (
        '<p>Hi <a rel="noopener noreferrer">x</a>'
        '<a href="https://ok.example" rel="noopener noreferrer">ok</a></p>'
    )


def test_the_text_part_is_the_body_as_written():
    rendered = render("**Shipped** <today>")

    assert rendered.text == "**Shipped** <today>"
    assert rendered.html == "<p><strong>Shipped</strong> &lt;today&gt;</p>"


def test_a_body_too_long_to_render_is_preformatted_text():
    body = "<b>" + "x" * MAX_MARKDOWN_CHARS

    html = to_html(body)

    assert html.startswith("<pre>&lt;b&gt;xxx") and html.endswith("</pre>")


def test_smtp_mail_carries_a_text_and_an_html_part(api, channels, smtp, celery_worker):
    body = send(
        api,
        "Order **#42** shipped: [track](https://track.example/42)",
        channels=["email"],
        recipient="jane@example.com",
        subject="Order #42",
    )
    delivery_id = body["deliveries"][0]["id"]

    wait_until(lambda: Delivery.objects.filter(pk=delivery_id, status="sent").exists())

    [sent] = smtp.wait_for(1)
    message = email.message_from_string(sent["data"], policy=default)
    assert message["Subject"] == "Order #42"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content().strip() == "Order **#42** shipped: [track](https://track.example/42)"
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == (
        '<p>Order <strong>#42</strong> shipped: <a href="https://track.example/42" '
        'rel="noopener noreferrer">track</a></p>'
    )
