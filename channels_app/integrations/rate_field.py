"""The channel form's "Max messages per second" (channels_app.pacing.RATE_FIELD): one field
each kind declares in its form_fields with its own default in the help text, read by the
channel form as the number the API takes (channels_app.dashboard.channel_forms)."""

from typing import Any

from django import forms

from channels_app.pacing import MAX_RATE, MIN_RATE


def rate_form_field(default: str, **attrs: Any) -> forms.Field:
    """Text, not a number field: "fast" or 11 gets the config's own error, as in the API.
    `default` says what applies when it is left empty; `attrs` go on the input (the
    email form's data-provider)."""
    return forms.CharField(
        label="Max messages per second",
        required=False,
        help_text=f"Optional, {MIN_RATE} to {MAX_RATE:g}. Empty: {default}",
        widget=forms.NumberInput(attrs={"min": MIN_RATE, "max": MAX_RATE, "step": "any", **attrs}),
    )


def rate_from_form(value: Any) -> Any:
    """The form's text as the number the API would have been sent ("2" → 2, "0.5" → 0.5);
    anything else as typed, for the config's rules to refuse in their words."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str):
        return text
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            continue
    return text
