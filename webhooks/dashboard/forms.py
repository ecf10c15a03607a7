"""Dashboard forms for outgoing and inbound webhooks.

Validation rules live where the API keeps them (webhooks.endpoints, the API's serializers);
these forms only adapt them to HTML fields so errors show next to the right input, in the
API's words. They never save: the views hand the cleaned data to the services.
"""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django import forms
from rest_framework import serializers

from channels_app.integrations import channel_kinds
from webhooks import endpoints
from webhooks.events import EVENT_TYPES
from webhooks.inbound import schemes
from webhooks.models import WebhookEndpoint
from webhooks.serializers import RecoverSerializer


def api_max_length(limit: int) -> dict[str, str]:
    """error_messages giving a too-long value the API's (DRF's) sentence."""
    template = str(serializers.CharField.default_error_messages["max_length"])
    return {"max_length": template.format(max_length=limit)}


def service_check(check: Callable[[Any], Any], value: Any) -> Any:
    """`check`'s cleaned value, or its refusal (webhooks.endpoints.InvalidField) as this
    field's error, with the same code and words as the API's."""
    try:
        return check(value)
    except endpoints.InvalidField as exc:
        raise forms.ValidationError(exc.text, code=exc.code) from None


class AnyChoices(forms.MultipleChoiceField):
    """Checkboxes whose values the service judges (unknown ones in the API's words)."""

    def valid_value(self, value: str) -> bool:
        return True


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2048,
        error_messages=api_max_length(2048),
        widget=forms.URLInput,
        help_text="Where oneping POSTs the signed events.",
    )
    description = forms.CharField(
        max_length=500, error_messages=api_max_length(500), required=False
    )
    event_types = AnyChoices(
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
        return service_check(endpoints.clean_url, self.cleaned_data["url"])

    def clean_event_types(self) -> list[str]:
        return service_check(endpoints.clean_event_types, self.cleaned_data["event_types"])


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


class _ChoicesGuideOnly:
    """The choices fill the select; an unknown value is left to the serializer, which
    refuses it in the API's words."""

    def valid_value(self, value: Any) -> bool:
        return True


class _GuidedChoiceField(_ChoicesGuideOnly, forms.ChoiceField):
    pass


class _GuidedMultipleChoiceField(_ChoicesGuideOnly, forms.MultipleChoiceField):
    pass


class InboundEndpointForm(forms.Form):
    """The HTML face of InboundEndpointSerializer: it only parses (and says what each
    input is for); the serializer validates, so the dashboard refuses what the API refuses,
    in the same words. Lengths are the browser's maxlength, choices the select's options.
    """

    name = forms.CharField(strip=False, widget=forms.TextInput(attrs={"maxlength": 200}))
    preset = _GuidedChoiceField(
        required=False, help_text="A preset fills in the verification and the rules."
    )
    verification = _GuidedChoiceField(required=False)
    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 500}),
    )
    # Here the scheme's own inputs (Scheme.form_fields), e.g. HMAC-SHA256's header name.
    preset_channels = _GuidedMultipleChoiceField(
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
        '"{{ message }}", "channels": ["slack"], "recipient": "team"}].',
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

    def serializer_data(self) -> dict[str, Any]:
        """What the API would have been sent for the same choices."""
        data = self.cleaned_data
        payload: dict[str, Any] = {"name": data["name"], "secret": data["secret"]}
        if data["verification"]:
            payload["verification"] = data["verification"]
        for name in self.scheme_fields:
            # A blank input means "not given": the model's default applies, as in the API.
            if data[name].strip():
                payload[name] = data[name].strip()
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
            # ErrorDetail keeps the serializer's code (invalid_rule, max_length, …).
            texts = [
                (str(message), getattr(message, "code", None)) for message in _flatten(messages)
            ]
            if key in self.fields and key != "rules":
                target = key
            elif key.startswith("rules"):
                target = _rule_error_field(key, preset)
                if target == "rules" and key != "rules":
                    texts = [(f"{key}: {text}", code) for text, code in texts]
            else:
                target = None
            for text, code in texts:
                self.add_error(target, forms.ValidationError(text, code=code))


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
