"""The one bridge between a dashboard form and an API serializer.

A dashboard page that does what an API call does parses its HTML form into what the API
would have been sent (`payload()`), lets the API's serializer validate it, and hands what
the serializer validated to the service function the view names, as the API's view does
(serializers never save). So the same input gets the same errors on both, by
construction: the form only parses (a field's `required` and length mark it for people,
they are not checked here), and each serializer or service error is put next to the form
field it names, with the code the API would answer.

Used by the channel, contact, outgoing-endpoint and inbound-endpoint pages.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django import forms
from rest_framework import serializers

from oneping.api.errors import describe_validation_error
from oneping.errors import ServiceError

T = TypeVar("T")


class ApiForm(forms.Form):
    """A form standing for an API request body; subclasses say what that body is."""

    # What the page answers with after submit(): the API's status for a service's refusal
    # (limit_reached: 400); field errors show the form again.
    status = 200

    def payload(self) -> dict[str, Any]:
        """What the API would have been sent for these form values (after is_valid()). An
        empty input the API needs is left out: the API's "missing" is a form's "empty"."""
        raise NotImplementedError

    def error_field(self, path: str) -> str | None:
        """The field showing an error the API names `path`: the field it is inside
        ("rules[0].message" → rules), else the field named by its end ("config.bot_token"
        → bot_token, where the form spreads `config` over fields); None: above the form."""
        for name in (_head(path), path.rsplit(".", 1)[-1]):
            if name in self.fields:
                return name
        return None

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
        act: Callable[..., T],
    ) -> T | None:
        """Validate with the API's serializer, then `act(**validated_data)` (the service,
        e.g. partial(endpoints.create, account)): what it returns, or None with the
        serializer's or the service's refusal on this form."""
        if not self.is_valid():
            return None
        serializer = serializer_class(instance, data=self.payload(), context=context)
        if not serializer.is_valid():
            self.add_api_errors(serializer.errors)
            return None
        try:
            return act(**serializer.validated_data)
        except ServiceError as exc:
            self.add_service_error(exc)
            return None

    def add_api_errors(self, errors: dict[str, Any]) -> None:
        for path, detail in flatten_errors(errors):
            # The code the API answers for this error alone (validation_error for the
            # framework's own, like `blank`); an empty input the API needs keeps the
            # `required` every Django form gives it.
            code, _, _ = describe_validation_error(serializers.ValidationError({path: [detail]}))
            if getattr(detail, "code", None) == "required" and path in self.fields:
                code = "required"
            field, text = self.error_field(path), str(detail)
            if field is not None and field == _head(path) != path:
                # Somewhere inside the field's document (a rules list): say where.
                text = f"{path}: {text}"
            self.add_error(field, forms.ValidationError(text, code=code))

    def add_service_error(self, exc: ServiceError) -> None:
        field = self.error_field(exc.field) if exc.field else None
        self.add_error(field, forms.ValidationError(exc.message, code=exc.code))
        self.status = exc.status


class _ChoicesGuideOnly:
    """The options guide the choice; an unknown value is left to the serializer, which
    refuses it in the API's words."""

    def valid_value(self, value: Any) -> bool:
        return True


class GuidedChoiceField(_ChoicesGuideOnly, forms.ChoiceField):
    pass


class GuidedMultipleChoiceField(_ChoicesGuideOnly, forms.MultipleChoiceField):
    pass


def _head(path: str) -> str:
    """The top-level field of an error path: "rules[0].channels" → rules."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


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
