"""Twilio Content templates (what WhatsApp needs outside the 24-hour session window):
a ContentSid (HX…) and its ContentVariables, a JSON object of placeholder → value
(https://www.twilio.com/docs/content-api/send-templates-created-with-content-api)."""

import json
from typing import Any

from channels_app.integrations.base import ConfigError
from channels_app.integrations.twilio.config import CONTENT_SID_RE

TEMPLATE_FIELDS = ("content_sid", "variables")

TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Twilio Content template",
    "description": "For a channel with provider twilio: an approved Content template and "
    'its variables by placeholder ({"1": "Jane"} for {{1}}).',
    "properties": {
        "content_sid": {"type": "string", "pattern": CONTENT_SID_RE.pattern},
        "variables": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["content_sid"],
    "additionalProperties": False,
}


def clean_template(template: dict[str, Any]) -> dict[str, Any]:
    """`{"content_sid", "variables"}`; ConfigError names the field ("template.content_sid")."""
    for key in template:
        if key not in TEMPLATE_FIELDS:
            raise ConfigError(
                f"template.{key}",
                "This channel sends through Twilio: give the template as "
                '{"content_sid": "HX…", "variables": {...}} (name and language are for '
                "Meta's Cloud API).",
            )
    content_sid = template.get("content_sid")
    if not isinstance(content_sid, str) or not CONTENT_SID_RE.match(content_sid):
        raise ConfigError(
            "template.content_sid",
            "Enter the Content template's SID: HX and 32 hexadecimal digits.",
        )
    variables = template.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(key, str) and key and isinstance(value, str) for key, value in variables.items()
    ):
        raise ConfigError(
            "template.variables",
            'Give the variables as an object of strings by placeholder, like {"1": "Jane"}.',
        )
    return {"content_sid": content_sid, "variables": variables}


def template_form(template: dict[str, Any]) -> dict[str, str]:
    """The Messages API's fields for a cleaned template."""
    form = {"ContentSid": template["content_sid"]}
    if template["variables"]:
        form["ContentVariables"] = json.dumps(template["variables"], separators=(",", ":"))
    return form
