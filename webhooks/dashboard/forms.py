"""Dashboard forms for outgoing and inbound webhooks.

The endpoint forms are ApiForms (oneping.apiforms): they only parse the page into what the
API would have been sent; the API's serializer validates it and the view hands the result
to the service (webhooks.endpoints, webhooks.inbound.endpoints), so the page refuses what
the API refuses, in the same words, next to the right input.
"""

import json
import re
from datetime import datetime
from typing import Any

from django import forms
from rest_framework import serializers

from channels_app.integrations import channel_kinds
from oneping.apiforms import ApiForm, GuidedChoiceField, GuidedMultipleChoiceField
from webhooks.events import EVENT_TYPES
from webhooks.inbound import schemes
from webhooks.models import InboundEndpoint, WebhookEndpoint
from webhooks.serializers import RecoverSerializer

# A scheme input's help text begins with the scheme it is for, on the create form.
ONLY_FOR = re.compile(r"^Only for [^:]+: ")
EDIT_HELP = {
    "signature_header": "The request header the sender puts its signature in (its token, "
    "for a token endpoint).",
}


class EndpointForm(ApiForm):
    """The HTML face of WebhookEndpointSerializer."""

    url = forms.CharField(
        label="URL",
        max_length=2048,
        widget=forms.URLInput,
        help_text="Where oneping POSTs the signed events.",
    )
    description = forms.CharField(max_length=500, required=False)
    event_types = GuidedMultipleChoiceField(
        choices=[(event_type, event_type) for event_type in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=(
            "Tick none to receive every event except `account.quota_warning`, which is sent "
            "only to endpoints that tick it."
        ),
    )

    def __init__(self, *args, instance: WebhookEndpoint | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "url": instance.url,
                "description": instance.description,
                "event_types": instance.event_types,
            }
        super().__init__(*args, **kwargs)

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        payload = {"description": data["description"], "event_types": data["event_types"]}
        if data["url"]:
            payload["url"] = data["url"]
        return payload


class RecoverForm(forms.Form):
    since = forms.CharField(
        label="Recover failed since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def clean_since(self) -> datetime:
        # Parsed by the API's own field: the same inputs pass, the same words refuse.
        try:
            return RecoverSerializer().fields["since"].run_validation(self.cleaned_data["since"])
        except serializers.ValidationError as exc:
            [error] = exc.detail
            raise forms.ValidationError(str(error), code=error.code) from None


class ReplayForm(forms.Form):
    event_id = forms.CharField(label="Event id", max_length=40, help_text="e.g. evt_…")


def scheme_form_fields() -> dict[str, forms.Field]:
    """Every scheme's dashboard inputs by setting name, fresh instances. Schemes share
    settings (the token and HMAC schemes read HMAC-SHA256's signature_header): one input each."""
    fields: dict[str, forms.Field] = {}
    for scheme in schemes.SCHEMES.values():
        for name, field in scheme.form_fields().items():
            fields.setdefault(name, field)
    return fields


def parse_json_input(text: str) -> Any:
    """A JSON input's value (None when blank); the serializer judges what it holds."""
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc}") from None


class InboundRulesForm(ApiForm):
    """The inputs an inbound endpoint keeps after it is made: its name, rules and where the
    event type and the requests come from. The create form adds the verification, the
    secret and the presets; the edit form the settings of the endpoint's scheme."""

    name = forms.CharField(strip=False, widget=forms.TextInput(attrs={"maxlength": 200}))
    rules = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text='Without a preset: a JSON list such as [{"event": "*", "message": '
        '"{{ message }}", "channels": ["slack"], "recipient": "team"}]; a rule may add '
        '`"when"` (a condition such as `total_price | float > 100`) and `"stop": true`.',
    )
    rule_mode = GuidedChoiceField(
        required=False,
        choices=InboundEndpoint.RuleMode.choices,
        help_text="Every matching rule makes its own message, or only the first one does.",
    )

    event_type_from = forms.CharField(
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": 1100}),
        help_text="Optional, where the event type is instead of the sender's usual place: "
        '{"header": "X-Gitlab-Event"}, {"path": "data.type"} or '
        '{"template": "{{ headers[\'sentry-hook-resource\'] }}.{{ action }}"}.',
    )
    allowed_ips = forms.CharField(
        label="Allowed IPs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: the networks the sender posts from, one a line (203.0.113.0/24); "
        "requests from elsewhere are refused. Empty: from anywhere.",
    )

    def clean_rules(self) -> Any:
        rules = parse_json_input(self.cleaned_data["rules"])
        return [] if rules is None else rules

    def clean_event_type_from(self) -> Any:
        return parse_json_input(self.cleaned_data["event_type_from"])

    def clean_allowed_ips(self) -> list[str]:
        return self.cleaned_data["allowed_ips"].split()

    def rules_payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        payload = {
            "event_type_from": data["event_type_from"],
            "allowed_ips": data["allowed_ips"],
        }
        if data["name"]:
            payload["name"] = data["name"]
        if data["rule_mode"]:
            payload["rule_mode"] = data["rule_mode"]
        return payload


class InboundEndpointForm(InboundRulesForm):
    """The HTML face of InboundEndpointSerializer: it only parses (and says what each
    input is for); the serializer validates, so the dashboard refuses what the API refuses,
    in the same words. Lengths are the browser's maxlength, choices the select's options.
    """

    preset = GuidedChoiceField(
        required=False, help_text="A preset fills in the verification and the rules."
    )
    verification = GuidedChoiceField(required=False)
    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 500}),
    )
    # Here the scheme's own inputs (Scheme.form_fields), e.g. HMAC-SHA256's header name.
    preset_channels = GuidedMultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="With a preset: the channels to notify (Slack when none is ticked).",
    )
    preset_recipient = forms.CharField(
        required=False, strip=False, help_text="With a preset: who is notified."
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # From the registries on each form, so a new scheme or kind shows up with no edit here.
        self.fields["preset_channels"].choices = [(kind, kind) for kind in channel_kinds()]
        self.fields["preset"].choices = [("", "— none: write rules below —")] + [
            (preset["key"], preset["name"]) for preset in schemes.presets()
        ]
        self.fields["verification"].choices = [
            ("", "— the preset's —"),
            *schemes.verification_choices(),
        ]
        without_secret = " or ".join(
            f"“{scheme.label}”" for scheme in schemes.SCHEMES.values() if not scheme.needs_secret
        )
        self.fields["secret"].help_text = "The secret the sender signs with" + (
            f" (not needed for {without_secret})." if without_secret else "."
        )
        offered = scheme_form_fields()
        self.scheme_fields = list(offered)
        self.fields.update(offered)
        self.order_fields(
            [
                "name",
                "preset",
                "verification",
                "secret",
                *self.scheme_fields,
                "preset_channels",
                "preset_recipient",
                *InboundRulesForm.base_fields,
            ]
        )

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        payload: dict[str, Any] = {"secret": data["secret"], **self.rules_payload()}
        if data["verification"]:
            payload["verification"] = data["verification"]
        for name in self.scheme_fields:
            # A blank input means "not given": the model's default applies, as in the API.
            # (A JSON input, such as HMAC's description, is parsed already.)
            value = data[name].strip() if isinstance(data[name], str) else data[name]
            if value not in (None, "", {}):
                payload[name] = value
        if data["preset"]:
            payload["preset"] = data["preset"]
            if data["preset_channels"]:
                payload["preset_channels"] = data["preset_channels"]
            if data["preset_recipient"].strip():
                payload["preset_recipient"] = data["preset_recipient"].strip()
        else:
            payload["rules"] = data["rules"]
        return payload

    def error_field(self, path: str) -> str | None:
        # A preset's rules are made from the preset's inputs, so an error in them is shown
        # where the customer can fix it.
        if self.cleaned_data.get("preset") and path.startswith("rules"):
            if path.endswith((".channels", ".fallback_channels")):
                return "preset_channels"
            if path.endswith(".recipient"):
                return "preset_recipient"
        return super().error_field(path)


class InboundEndpointEditForm(InboundRulesForm):
    """The endpoint page's Edit form: what the API's PATCH changes but the verification and
    the secret. The rules are shown as the JSON the API keeps, ids included, so a rule left
    as it was keeps its id (and the messages its events made stay tied to it)."""

    def __init__(self, *args: Any, instance: InboundEndpoint, **kwargs: Any):
        self.instance = instance
        scheme = schemes.SCHEMES[instance.verification]
        offered = scheme_form_fields()
        # Only the endpoint's own scheme's settings: the verification is not changed here.
        self.scheme_fields = [name for name in scheme.settings if name in offered]
        rules = json.dumps(instance.rules, indent=2, ensure_ascii=False)
        kwargs.setdefault(
            "initial",
            {
                "name": instance.name,
                "rules": rules,
                "rule_mode": instance.rule_mode,
                "event_type_from": json.dumps(instance.event_type_from, ensure_ascii=False)
                if instance.event_type_from
                else "",
                "allowed_ips": "\n".join(instance.allowed_ips),
                **{name: getattr(instance, name) for name in self.scheme_fields},
            },
        )
        super().__init__(*args, **kwargs)
        for name in self.scheme_fields:
            self.fields[name] = offered[name]
            # The scheme is fixed on this page: "Only for <scheme>:" would say nothing, or
            # the wrong scheme for an input several schemes share.
            text = EDIT_HELP.get(name) or ONLY_FOR.sub("", str(offered[name].help_text))
            self.fields[name].help_text = text[:1].upper() + text[1:]
        self.order_fields(["name", *self.scheme_fields])
        self.fields["rules"].help_text = (
            "The rules as JSON. Keep a rule's “id” to keep the rule (messages already made "
            'stay tied to it); a rule without one gets a new id. A rule may have `"when"` '
            '(a condition such as `total_price | float > 100`) and `"stop": true`.'
        )
        self.fields["rules"].widget.attrs["rows"] = min(40, max(10, rules.count("\n") + 2))

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        payload: dict[str, Any] = {"rules": data["rules"], **self.rules_payload()}
        for name in self.scheme_fields:
            value = data[name]
            if isinstance(value, str):
                # Trimmed, as when the endpoint was made; a blank one is sent, for the
                # API to refuse or take (no token prefix), never silently kept.
                value = value.strip()
            elif value is None:
                value = {}  # an emptied JSON input (HMAC's description): the defaults
            payload[name] = value
        return payload


class InboundPreviewForm(ApiForm):
    """The HTML face of InboundPreviewRequestSerializer: headers are pasted one per line,
    "Name: value", as senders' delivery logs show them."""

    headers = forms.CharField(
        label="Headers",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "X-Shopify-Hmac-Sha256: …"}),
        help_text="One per line, Name: value (Content-Type too, for a form body).",
    )
    body = forms.CharField(
        label="Body",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="The raw body, exactly as sent: one changed byte fails the signature.",
    )

    def clean_headers(self) -> dict[str, str]:
        parsed: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["headers"].splitlines(), 1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise forms.ValidationError(f"Line {number}: write Name: value.")
            parsed[name.strip()] = value.strip()
        return parsed

    def payload(self) -> dict[str, Any]:
        # Browsers send a textarea's line breaks as CRLF (HTML's form submission
        # normalises them); the line breaks of a JSON body pasted from a log were LF.
        body = self.cleaned_data["body"].replace("\r\n", "\n")
        return {"headers": self.cleaned_data["headers"], "body": body}
