"""Rules turn an inbound event into send requests: which events, under which condition,
what to say, to whom.

An endpoint's `rule_mode` says how many fire: "all" (every rule whose `event` is the event
type or "*" and whose `when` holds, in order, until one with `"stop": true` fires) or
"first" (the first exact rule whose `when` holds, else the first such "*" rule: how
endpoints made before rule modes behaved). Each rule has a stable `id`: the message it makes
is idempotent per (event, rule id), so reprocessing sends only what was not sent yet.
"""

import functools
import re
from typing import Any

from channels_app.integrations import channel_kinds
from oneping.ids import new_id
from oneping.storable import unstorable_text
from webhooks.inbound import templates
from webhooks.inbound.isolation import isolated
from webhooks.inbound.templates import RenderError, expression_syntax_error, syntax_error

WILDCARD = "*"
TEMPLATE_FIELDS = ("message", "subject", "recipient")
FIRST = "first"  # InboundEndpoint.RuleMode.FIRST: one rule fires, as before rule modes
RULE_FIELDS = {
    "id",
    "event",
    "when",
    "stop",
    "channels",
    "fallback_channels",
    "metadata",
    *TEMPLATE_FIELDS,
}
# Customers may name their rules ("customer-email"); ids we make are rul_<ulid>.
RULE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# A rule's metadata is a handful of keys; /send's own size limit applies to the rendered
# values when the message is accepted.
MAX_METADATA_KEYS = 20


def new_rule_id() -> str:
    return new_id("rul")


class RuleError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def clean_rules(rules: Any, configured_channels: set[str]) -> list[dict[str, Any]]:
    """Validate rules when an endpoint is saved; RuleError names the rule and field."""
    if not isinstance(rules, list):
        raise RuleError("rules", "Must be a list of rules.")
    cleaned: list[dict[str, Any]] = []
    for index, rule in enumerate(rules):
        rule = _clean_rule(rule, f"rules[{index}]", configured_channels)
        if any(other["id"] == rule["id"] for other in cleaned):
            raise RuleError(f"rules[{index}].id", f"Another rule has the id {rule['id']!r}.")
        cleaned.append(rule)
    return cleaned


def _clean_rule(rule: Any, path: str, configured: set[str]) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise RuleError(path, "Each rule is an object.")
    unknown = set(rule) - RULE_FIELDS
    if unknown:
        raise RuleError(f"{path}.{sorted(unknown)[0]}", "Unknown field.")
    event = rule.get("event")
    if not isinstance(event, str) or not event.strip():
        raise RuleError(f"{path}.event", "Give the event type to match, or '*' for any.")
    problem = unstorable_text(event)
    if problem:
        raise RuleError(f"{path}.event", problem)
    rule_id = rule.get("id")
    if rule_id is None:
        rule_id = new_rule_id()  # kept from then on: the client sends it back to keep it
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise RuleError(f"{path}.id", "Letters, digits and - _ . : only, at most 64.")
    cleaned: dict[str, Any] = {"id": rule_id, "event": event.strip()}
    when = rule.get("when", "")
    if not isinstance(when, str):
        raise RuleError(f"{path}.when", "Must be a string (a Jinja2 expression).")
    if when.strip():
        problem = unstorable_text(when) or expression_syntax_error(when)
        if problem:
            raise RuleError(f"{path}.when", problem)
        cleaned["when"] = when.strip()
    stop = rule.get("stop", False)
    if not isinstance(stop, bool):
        raise RuleError(f"{path}.stop", "Must be true or false.")
    if stop:
        cleaned["stop"] = True
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
    metadata = _clean_metadata(rule.get("metadata", {}), f"{path}.metadata")
    if metadata:
        cleaned["metadata"] = metadata
    return cleaned


def _clean_metadata(metadata: Any, path: str) -> dict[str, str]:
    """`metadata`: keys to templates, each rendered from the payload into the message's
    metadata (a string, as /send keeps it)."""
    if not isinstance(metadata, dict):
        raise RuleError(path, "Must be an object of templates.")
    if len(metadata) > MAX_METADATA_KEYS:
        raise RuleError(path, f"At most {MAX_METADATA_KEYS} keys.")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise RuleError(f"{path}.{key}", "Must be a string (a template).")
        problem = unstorable_text(key) or unstorable_text(value) or syntax_error(value)
        if problem:
            raise RuleError(f"{path}.{key}", problem)
    return dict(metadata)


def candidates(rules: list[dict[str, Any]], mode: str, event_type: str) -> list[dict[str, Any]]:
    """The rules that may fire for this event type, in the order their `when` is tried:
    in "all" mode the rules for it or "*" as listed; in "first" mode the exact ones, then
    the wildcards (the first whose `when` holds fires)."""
    # Rules saved through the admin skip clean_rules: their position stands in for an id.
    rules = [{"id": f"rules[{i}]", **rule} for i, rule in enumerate(rules)]
    exact = [rule for rule in rules if rule.get("event") == event_type]
    wildcards = [rule for rule in rules if rule.get("event") == WILDCARD]
    if mode == FIRST:
        return exact + wildcards
    return [rule for rule in rules if rule.get("event") in (event_type, WILDCARD)]


def template_variables(payload: Any, event_type: str) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    if isinstance(payload, dict):
        variables.update({key: value for key, value in payload.items() if isinstance(key, str)})
    variables.update(payload=payload, event_type=event_type)
    return variables


def fire(
    rules: list[dict[str, Any]], mode: str, payload: Any, event_type: str
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The rules that fire for this event and the /send body each makes, in order; raises
    RenderError naming the rule whose condition or template failed. Every condition is
    evaluated and every fired rule rendered here, before anything is accepted, in one
    child (isolation.py): one fork per event, not one per rule or field."""
    tried = candidates(rules, mode, event_type)
    if not tried:
        return []
    variables = template_variables(payload, event_type)
    work = functools.partial(_fire, tried, mode, variables)
    fired = isolated(work)["fired"]
    by_id = {rule["id"]: rule for rule in tried}
    return [(by_id[f["rule"]], _send_request(by_id[f["rule"]], f["fields"])) for f in fired]


def _fire(tried: list[dict[str, Any]], mode: str, variables: dict[str, Any]) -> dict[str, Any]:
    """In the child: evaluate conditions, then render the fired rules (pure data only)."""
    fired = []
    for rule in tried:
        if "when" in rule:
            try:
                if not templates.holds(rule["when"], variables):
                    continue
            except RenderError as exc:
                raise RenderError(f"{_label(rule)} when: {exc}", code=exc.code) from None
        fired.append(rule)
        if mode == FIRST or rule.get("stop"):
            break
    answers = []
    for rule in fired:
        sources = {field: rule[field] for field in TEMPLATE_FIELDS if rule.get(field)}
        sources.update({f"metadata.{k}": v for k, v in rule.get("metadata", {}).items()})
        try:
            fields = {name: templates.render(source, variables) for name, source in sources.items()}
        except RenderError as exc:
            # One rule needs no name; with several, the reason says which one failed.
            reason = f"{_label(rule)} {exc}" if len(fired) > 1 else str(exc)
            raise RenderError(reason, code=exc.code) from None
        answers.append({"rule": rule["id"], "fields": fields})
    return {"fired": answers}


def _label(rule: dict[str, Any]) -> str:
    return f"rule {rule['id']!r}:"


def _send_request(rule: dict[str, Any], rendered: dict[str, str]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "message": rendered["message"],
        "recipient": rendered["recipient"].strip(),
        "channels": rule["channels"],
        "fallback_channels": rule.get("fallback_channels", []),
    }
    if "subject" in rendered:
        request["subject"] = rendered["subject"][:255]
    metadata = {
        name.removeprefix("metadata."): value
        for name, value in rendered.items()
        if name.startswith("metadata.")
    }
    if metadata:
        request["metadata"] = metadata
    return request
