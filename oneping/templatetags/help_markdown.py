"""Help and setup texts as plain text with a little Markdown, never as raw HTML.

The text is escaped first (so a `<script>` in it, or in the saved-secret suffix a help
text quotes, shows as text), then three inline forms become markup: `code`, *emphasis*
and [links](https://…) to https addresses only. A string the code marked safe (Django's
password rules list) is kept as it is, as autoescaping would.
"""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe

register = template.Library()

_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|\[(?P<text>[^\]]+)\]\((?P<url>https://[^)\s\"'<>]+)\)"
    r"|\*(?P<em>[^*\s][^*]*)\*"
)


def _markup(match: re.Match) -> str:
    if match["code"] is not None:
        return f"<code>{match['code']}</code>"
    if match["url"] is not None:
        return f'<a href="{match["url"]}" rel="noopener noreferrer">{match["text"]}</a>'
    return f"<em>{match['em']}</em>"


@register.filter(is_safe=True)
def help_markdown(text: object) -> SafeString:
    if isinstance(text, SafeData):
        return text  # type: ignore[return-value]
    escaped = str(conditional_escape(str(text)))
    return mark_safe(_INLINE.sub(_markup, escaped))  # noqa: S308 (escaped above)
