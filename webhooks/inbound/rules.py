"""Rules turn an inbound event into a send request: which event, what to say, to whom."""

from typing import Any

from channels_app.integrations import channel_kinds
from oneping.storable import unstorable_text
from webhooks.inbound.isolation import render_all
from webhooks.inbound.templates import syntax_error

WILDCARD = "*"
TEMPLATE_FIELDS = ("message", "subject", "recipient")


class RuleError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def clean_rules(rules: Any, configured_channels: set[str]) -> list[dict[str, Any]]:
    """Validate rules when an endpoint is saved; RuleError names the rule and field."""
    if not isinstance(rules, list):
        raise RuleError("rules", "Must be a list of rules.")
    cleaned = []
    for index, rule in enumerate(rules):
        cleaned.append(_clean_rule(rule, f"rules[{index}]", configured_channels))
    return cleaned


def _clean_rule(rule: Any, path: str, configured: set[str]) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise RuleError(path, "Each rule is an object.")
    unknown = set(rule) - {"event", "channels", "fallback_channels", *TEMPLATE_FIELDS}
    if unknown:
        raise RuleError(f"{path}.{sorted(unknown)[0]}", "Unknown field.")
    event = rule.get("event")
    if not isinstance(event, str) or not event.strip():
        raise RuleError(f"{path}.event", "Give the event type to match, or '*' for any.")
    problem = unstorable_text(event)
    if problem:
        raise RuleError(f"{path}.event", problem)
    cleaned: dict[str, Any] = {"event": event.strip()}
    for field in TEMPLATE_FIELDS:
        value = rule.get(field, "")
        if not isinstance(value, str):
            raise RuleError(f"{path}.{field}", "Must be a string (a template).")
        if field != "subject" and not value.strip():
            raise RuleError(f"{path}.{field}", "This field is required.")
        problem = unstorable_text(value) or syntax_error(value)
        if problem:
            raise RuleError(f"{path}.{field}", problem)
        cleaned[field] = value
    for field in ("channels", "fallback_channels"):
        channels = rule.get(field, [] if field == "fallback_channels" else None)
        if not isinstance(channels, list) or (field == "channels" and not channels):
            raise RuleError(f"{path}.{field}", "Give a list of channels.")
        for channel in channels:
            if channel not in channel_kinds():
                raise RuleError(f"{path}.{field}", f"Unknown channel {channel!r}.")
            if channel not in configured:
                raise RuleError(
                    f"{path}.{field}",
                    f"The {channel} channel is not configured for this account.",
                )
        cleaned[field] = list(channels)
    return cleaned


def match(rules: list[dict[str, Any]], event_type: str) -> dict[str, Any] | None:
    """The first rule for this exact event type, else the first wildcard rule."""
    for rule in rules:
        if rule["event"] == event_type:
            return rule
    for rule in rules:
        if rule["event"] == WILDCARD:
            return rule
    return None


def template_variables(payload: Any, event_type: str) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    if isinstance(payload, dict):
        variables.update({key: value for key, value in payload.items() if isinstance(key, str)})
    variables.update(payload=payload, event_type=event_type)
    return variables


def send_request(rule: dict[str, Any], payload: Any, event_type: str) -> dict[str, Any]:
    """The /send body this rule makes of the payload (raises RenderError)."""
    # One child renders them all (isolation.py): one fork per event, not one per field.
    fields = ("message", "recipient", "subject")
    sources = {field: rule[field] for field in fields if rule.get(field)}
    rendered = render_all(sources, template_variables(payload, event_type))
    request = {
        "message": rendered["message"],
        "recipient": rendered["recipient"].strip(),
        "channels": rule["channels"],
        "fallback_channels": rule.get("fallback_channels", []),
    }
    if "subject" in rendered:
        request["subject"] = rendered["subject"][:255]
    return request
