"""Help and setup texts in the dashboard are text with a little Markdown, never raw HTML."""

import pytest

from channels_app.dashboard.forms import ContactForm
from channels_app.integrations.telegram.integration import TelegramIntegration
from oneping.templatetags.help_markdown import help_markdown

SCRIPT = "<script>alert(1)</script>"


def test_a_script_in_a_channels_setup_text_is_shown_as_text(owner_client, monkeypatch):
    monkeypatch.setattr(TelegramIntegration, "setup_help", f"Paste {SCRIPT} and `/newbot`.")

    page = owner_client.get("/channels/").content.decode()

    assert SCRIPT not in page
    assert "Paste &lt;script&gt;alert(1)&lt;/script&gt; and <code>/newbot</code>." in page


def test_a_script_in_a_fields_help_text_is_shown_as_text(owner_client, monkeypatch):
    monkeypatch.setitem(ContactForm.base_fields["identifier"].__dict__, "help_text", SCRIPT)

    page = owner_client.get("/contacts/new/").content.decode()

    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_setup_texts_keep_their_code_emphasis_and_links(owner_client):
    page = owner_client.get("/channels/").content.decode()

    assert '<a href="https://t.me/BotFather" rel="noopener noreferrer">@BotFather</a>' in page
    assert "<code>/newbot</code>" in page
    assert "<em>Apps → Incoming Webhooks → Add to Slack</em>" in page


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("`a<b`", "<code>a&lt;b</code>"),
        ("*x*", "<em>x</em>"),
        ("[go](https://example.com/?a=1&b=2)", '<a href="https://example.com/?a=1&amp;b=2" '),
        # Only https links become links; anything else stays text.
        ("[go](javascript:alert(1))", "[go](javascript:alert(1))"),
        ("[go](http://example.com)", "[go](http://example.com)"),
        ("`*not em*`", "<code>*not em*</code>"),
        ("2 * 3 * 4", "2 * 3 * 4"),
    ],
)
def test_the_markdown_subset(text, shown):
    assert shown in help_markdown(text)


def test_a_link_cannot_break_out_of_its_attribute():
    shown = help_markdown('[x](https://e.com/"onmouseover="alert(1))')
    assert '"onmouseover' not in shown
    assert "&quot;onmouseover=&quot;" in shown
