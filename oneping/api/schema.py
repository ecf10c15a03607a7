"""The OpenAPI document documents the error answers too, in the one error shape.

drf-spectacular documents only the success answer of each operation; clients (and schema
fuzzers) also need the 4xx an operation can give. ApiAutoSchema adds the ones every
operation of a kind shares; a view adds its own (409, …) with `extend_schema(responses=…)`.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorInfoSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable snake_case code, e.g. `validation_error`.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.DictField(help_text="Machine-readable context; `{}` when none.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorInfoSerializer()


def error_doc(description: str) -> OpenApiResponse:
    """The OpenAPI description of an error answer (documentation only; the answer itself
    comes from oneping.api.errors)."""
    return OpenApiResponse(ErrorSerializer, description=description)


# Shared by every operation of a kind (see ApiAutoSchema.error_statuses).
COMMON_ERRORS = {
    400: "`validation_error`, `invalid_json` or another 400 code of the request.",
    401: "`not_authenticated` (no key) or `invalid_api_key`.",
    403: "`insufficient_scope`: the API key lacks the scope this operation needs "
    "(`x-required-scopes`, any one of them); the message names it.",
    404: "`not_found`: no such object in this account, or an invalid cursor.",
    413: "`payload_too_large`: the body is over the limit.",
    415: "`unsupported_media_type`: send JSON.",
    429: "`rate_limited` (per API key) or, on sends, `quota_exceeded` (a test key: "
    "`test_mode_limit_exceeded`, the test mode's daily cap, with `Retry-After`).",
}


class ApiAutoSchema(AutoSchema):
    def error_statuses(self) -> list[int]:
        statuses = [401, 403, 429]
        has_body = self.method in ("POST", "PUT", "PATCH")
        has_parameters = any(
            parameter.get("in") in ("query", "header")
            for parameter in self._get_parameters()  # filters, pagination, Idempotency-Key
        )
        if has_body or has_parameters:
            statuses.append(400)
        if has_body:
            statuses += [413, 415]
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            statuses.append(404)  # an unknown id, or a cursor that is not ours
        return sorted(statuses)

    def get_operation(self, *args, **kwargs) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        # Permissions that refuse some callers (the API key scopes) say which, here.
        for permission in self.view.get_permissions():
            document = getattr(permission, "document_operation", None)
            if document is not None:
                document(operation, self.view, self.method)
        return operation

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    error_doc(COMMON_ERRORS[status]), str(status), direction=direction
                )
        return responses
