"""The one bridge between a dashboard form and an API serializer.

A dashboard page that does what an API call does parses its HTML form into what the API
would have been sent (`payload()`), then lets the API's serializer validate and save it,
and the serializer calls the app's service. So the same input gets the same errors on both,
by construction: the form only parses (a field's `required` and length mark it for people,
they are not checked here), and each serializer or service error is put next to the form
field it names, with the code the API would answer.
"""

from collections.abc import Iterator
from typing import Any

from django import forms
from rest_framework import serializers

from oneping.api.errors import describe_validation_error
from oneping.errors import ServiceError


class ApiForm(forms.Form):
    """A form standing for an API request body; subclasses say what that body is."""

    def payload(self) -> dict[str, Any]:
        """What the API would have been sent for these form values (after is_valid())."""
        raise NotImplementedError

    def error_field(self, path: str) -> str | None:
        """The field showing an error the API names `path` ("config.bot_token" → bot_token);
        None shows it above the form."""
        name = path.rsplit(".", 1)[-1]
        return name if name in self.fields else None

    def full_clean(self) -> None:
        # Parse only: whether a value is required, short enough or well-formed is the
        # serializer's call, so the dashboard answers bad input in the API's words.
        checks = {name: (field.required, field.validators) for name, field in self.fields.items()}
        for field in self.fields.values():
            field.required, field.validators = False, []
        try:
            super().full_clean()
        finally:  # the fields render as declared (the "*" of a required one)
            for name, (required, validators) in checks.items():
                self.fields[name].required, self.fields[name].validators = required, validators

    def submit(
        self,
        serializer_class: type[serializers.Serializer],
        instance: Any = None,
        *,
        context: dict[str, Any],
        **save_kwargs: Any,
    ) -> Any | None:
        """Validate with the API's serializer and save through it: the saved object, or None
        with the errors on this form."""
        if not self.is_valid():
            return None
        serializer = serializer_class(instance, data=self.payload(), context=context)
        if not serializer.is_valid():
            self.add_api_errors(serializer.errors)
            return None
        try:
            return serializer.save(**save_kwargs)
        except ServiceError as exc:
            self.add_service_error(exc)
            return None

    def add_api_errors(self, errors: dict[str, Any]) -> None:
        for path, detail in flatten_errors(errors):
            # The code the API answers for this error alone (validation_error for the
            # framework's own, like `blank`).
            code, _, _ = describe_validation_error(serializers.ValidationError({path: [detail]}))
            self.add_error(self.error_field(path), forms.ValidationError(str(detail), code=code))

    def add_service_error(self, exc: ServiceError) -> None:
        field = self.error_field(exc.field) if exc.field else None
        self.add_error(field, forms.ValidationError(exc.message, code=exc.code))


def flatten_errors(detail: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, error) for each error of a serializer's nested `errors`, paths as the API
    names them: "config.bot_token", "rules[0].channels"."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from flatten_errors(value, f"{path}.{key}" if path else str(key))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                yield from flatten_errors(item, f"{path}[{index}]")
            else:
                yield path, item
    else:
        yield path, detail
