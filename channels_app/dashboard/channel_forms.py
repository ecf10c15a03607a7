"""The channel page's forms: one per kind, built from the integration's own declarations.

A form only parses; ChannelConfigSerializer (the API's) validates and the view hands the
result to channels_app.channels (oneping.apiforms), so a bad value gets the API's answer.
"""

from typing import Any, ClassVar

from django import forms

from channels_app.integrations import channel_kinds, get_integration
from channels_app.integrations.base import Integration
from channels_app.integrations.rate_field import rate_from_form
from channels_app.pacing import RATE_FIELD
from oneping.apiforms import ApiForm
from oneping.crypto import mask

KEEP = "Leave empty to keep the saved one."


class ChannelForm(ApiForm):
    integration: ClassVar[Integration]
    kind: ClassVar[str]
    title: ClassVar[str]
    setup_help: ClassVar[str]

    def __init__(self, *args, existing: dict[str, Any] | None = None, **kwargs):
        self.existing = existing or {}
        kwargs.setdefault("initial", self.integration.form_initial(self.existing))
        kwargs.setdefault("prefix", self.kind)
        super().__init__(*args, **kwargs)
        for name in self.integration.secret_fields:
            if self.existing.get(name) and name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = f"Saved ({mask(self.existing[name])}). {KEEP}"

    def payload(self) -> dict[str, Any]:
        # Every kind's form has the rate (its form_fields): a number, as the API takes it.
        data = {**self.cleaned_data, RATE_FIELD: rate_from_form(self.cleaned_data.get(RATE_FIELD))}
        config = self.integration.config_from_form(data)
        for name in self.integration.secret_fields:  # empty secret field: keep the saved value
            if not config.get(name):
                config.pop(name, None)
        return {"kind": self.kind, "config": config}


def channel_form(kind: str) -> type[ChannelForm]:
    """The form of `kind`: its integration's fields, title and setup text."""
    integration = get_integration(kind)
    attributes = {
        "integration": integration,
        "kind": kind,
        "title": integration.title,
        "setup_help": integration.setup_help,
        **integration.form_fields,  # collected (and copied per form) by Django's metaclass
    }
    return type(f"{type(integration).__name__}Form", (ChannelForm,), attributes)


def channel_forms() -> dict[str, type[ChannelForm]]:
    """One form per registered kind, built when asked (cheap: a class per kind)."""
    return {kind: channel_form(kind) for kind in channel_kinds()}


class TestSendForm(ApiForm):
    __test__ = False  # not a pytest test class, whatever its name

    recipient = forms.CharField(required=False, max_length=255)

    def __init__(self, *args, kind: str, **kwargs):
        kwargs.setdefault("prefix", f"test-{kind}")
        super().__init__(*args, **kwargs)
        self.fields["recipient"].help_text = get_integration(kind).test_recipient_hint

    def payload(self) -> dict[str, Any]:
        return {"recipient": self.cleaned_data["recipient"]}
