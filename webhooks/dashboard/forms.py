"""Dashboard forms for outgoing and inbound webhooks.

Validation rules live where the API keeps them (oneping.urlguard, the inbound serializer);
these forms only adapt them to HTML fields so errors show next to the right input.
"""

import json
from typing import Any

from django import forms

from channels_app.integrations import channel_kinds
from oneping.urlguard import UrlNotAllowed, check_receiver_url
from webhooks.events import EVENT_TYPES
from webhooks.inbound.presets import PRESETS
from webhooks.models import InboundEndpoint, WebhookEndpoint


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2048,
        widget=forms.URLInput,
        help_text="Where oneping POSTs the signed events.",
    )
    description = forms.CharField(max_length=500, required=False)
    event_types = forms.MultipleChoiceField(
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

    def clean_url(self) -> str:
        try:
            return check_receiver_url(self.cleaned_data["url"])
        except UrlNotAllowed as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_event_types(self) -> list[str]:
        return sorted(set(self.cleaned_data["event_types"]))

    def save(self) -> WebhookEndpoint:
        """Update the endpoint being edited (new ones: webhooks.endpoints)."""
        endpoint = self.instance
        endpoint.url = self.cleaned_data["url"]
        endpoint.description = self.cleaned_data["description"]
        endpoint.event_types = self.cleaned_data["event_types"]
        # Only the edited fields: a worker may have disabled the endpoint (410 Gone) or
        # an admin rotated its secret since this form was loaded.
        endpoint.save(update_fields=["url", "description", "event_types", "updated_at"])
        return endpoint


class RecoverForm(forms.Form):
    since = forms.DateTimeField(
        label="Recover failed since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class ReplayForm(forms.Form):
    event_id = forms.CharField(label="Event id", max_length=40, help_text="e.g. evt_…")


class InboundEndpointForm(forms.Form):
    """The HTML face of InboundEndpointSerializer: it only parses; the serializer validates."""

    name = forms.CharField(max_length=200)
    preset = forms.ChoiceField(
        required=False,
        choices=[("", "— none: write rules below —")]
        + [(preset["key"], preset["name"]) for preset in PRESETS],
        help_text="A preset fills in the verification and the rules.",
    )
    verification = forms.ChoiceField(
        required=False,
        choices=[("", "— the preset's —"), *InboundEndpoint.Verification.choices],
    )
    secret = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="The secret the sender signs with (not needed for “None”).",
    )
    signature_header = forms.CharField(
        max_length=100,
        required=False,
        initial="X-Webhook-Signature",
        help_text="Only for HMAC-SHA256: the header holding the hex signature.",
    )
    preset_channels = forms.MultipleChoiceField(
        required=False,
        choices=[(kind, kind) for kind in channel_kinds()],
        widget=forms.CheckboxSelectMultiple,
        help_text="With a preset: the channels to notify (Slack when none is ticked).",
    )
    preset_recipient = forms.CharField(
        max_length=255, required=False, help_text="With a preset: who is notified."
    )
    rules = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text='Without a preset: a JSON list such as [{"event": "*", "message": '
        '"{{ message }}", "channels": ["slack"], "recipient": "team"}].',
    )

    def clean_rules(self) -> Any:
        text = self.cleaned_data["rules"].strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None

    def serializer_data(self) -> dict[str, Any]:
        """What the API would have been sent for the same choices."""
        data = self.cleaned_data
        payload: dict[str, Any] = {"name": data["name"], "secret": data["secret"]}
        if data["verification"]:
            payload["verification"] = data["verification"]
        if data["signature_header"].strip():
            payload["signature_header"] = data["signature_header"].strip()
        if data["preset"]:
            payload["preset"] = data["preset"]
            if data["preset_channels"]:
                payload["preset_channels"] = data["preset_channels"]
            if data["preset_recipient"].strip():
                payload["preset_recipient"] = data["preset_recipient"].strip()
        else:
            payload["rules"] = data["rules"]
        return payload

    def add_serializer_errors(self, errors: dict[str, Any]) -> None:
        """Put each serializer error next to the field it is about.

        Rule errors come as "rules[0].channels"; with a preset the rules were generated
        from the preset fields, so those are where the customer can fix them.
        """
        preset = self.cleaned_data.get("preset")
        for key, messages in errors.items():
            texts = [str(message) for message in _flatten(messages)]
            if key in self.fields and key != "rules":
                target = key
            elif key.startswith("rules"):
                target = _rule_error_field(key, preset)
                if target == "rules" and key != "rules":
                    texts = [f"{key}: {text}" for text in texts]
            else:
                target = None
            for text in texts:
                self.add_error(target, text)


def _rule_error_field(key: str, preset: str | None) -> str:
    if preset and key.endswith((".channels", ".fallback_channels")):
        return "preset_channels"
    if preset and key.endswith(".recipient"):
        return "preset_recipient"
    return "rules"


def _flatten(messages: Any) -> list[Any]:
    if isinstance(messages, dict):
        return [item for value in messages.values() for item in _flatten(value)]
    if isinstance(messages, list):
        return [item for value in messages for item in _flatten(value)]
    return [messages]
