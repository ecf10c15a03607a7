"""Dashboard forms for outgoing and inbound webhooks.

The endpoint forms are ApiForms (oneping.apiforms): they only parse the page into what the
API would have been sent; the API's serializer validates it and the view hands the result
to the service (webhooks.endpoints, webhooks.inbound.endpoints), so the page refuses what
the API refuses, in the same words, next to the right input.
"""

import json
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
        help_text="Tick none to receive every event.",
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


class InboundEndpointForm(ApiForm):
    """The HTML face of InboundEndpointSerializer: it only parses (and says what each
    input is for); the serializer validates, so the dashboard refuses what the API refuses,
    in the same words. Lengths are the browser's maxlength, choices the select's options.
    """

    name = forms.CharField(strip=False, widget=forms.TextInput(attrs={"maxlength": 200}))
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
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: the networks the sender posts from, one a line (203.0.113.0/24); "
        "requests from elsewhere are refused. Empty: from anywhere.",
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
        self.scheme_fields: list[str] = []
        for scheme in schemes.SCHEMES.values():
            for name, field in scheme.form_fields().items():
                if name not in self.fields:
                    self.fields[name] = field
                    self.scheme_fields.append(name)
        order = [name for name in self.fields if name not in self.scheme_fields]
        at = order.index("secret") + 1
        self.order_fields([*order[:at], *self.scheme_fields, *order[at:]])

    def clean_rules(self) -> Any:
        text = self.cleaned_data["rules"].strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None

    def clean_event_type_from(self) -> Any:
        text = self.cleaned_data["event_type_from"].strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None

    def clean_allowed_ips(self) -> list[str]:
        return self.cleaned_data["allowed_ips"].split()

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        payload: dict[str, Any] = {
            "secret": data["secret"],
            "event_type_from": data["event_type_from"],
            "allowed_ips": data["allowed_ips"],
        }
        if data["name"]:
            payload["name"] = data["name"]
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
        if data["rule_mode"]:
            payload["rule_mode"] = data["rule_mode"]
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
