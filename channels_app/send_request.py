"""The shape of a send request (POST /api/v1/send), shared by the API and inbound rules."""

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels_app.integrations import channel_kinds, get_integration
from oneping.storable import unstorable_text
from oneping.urlguard import UrlNotAllowed, check_receiver_url

METADATA_LIMIT_BYTES = 8 * 1024
OPTIONS_CODE = "invalid_channel_options"


def _error(message: str, code: str) -> serializers.ErrorDetail:
    return serializers.ErrorDetail(message, code=code)


def _check_channel_names(names: list[str], field: str) -> list[str]:
    kinds = channel_kinds()
    unknown = [name for name in names if name not in kinds]
    if unknown:
        raise serializers.ValidationError(
            f"Unknown channel {unknown[0]!r}: use {', '.join(kinds)}.", code="unknown_channel"
        )
    if len(set(names)) != len(names):
        raise serializers.ValidationError(
            f"Each channel may appear once in {field}.", code="duplicate_channel"
        )
    return names


# A pattern rather than an enum: drf-spectacular would name this choice set apart from the
# channel `kind` enum and warn about it. Taken from the registry at import, like the limits
# below: documentation, while the check above reads the registry on every call.
@extend_schema_field({"type": "string", "pattern": f"^({'|'.join(channel_kinds())})$"})
class ChannelNameField(serializers.CharField):
    """A channel kind. An unknown name is refused with the documented `unknown_channel`
    code (below), not DRF's generic `invalid_choice`."""


def _channel_options_schema() -> dict[str, Any]:
    """Each kind's entry, as its integration documents it (options_schema)."""
    entries = {
        kind: schema
        for kind in channel_kinds()
        if (schema := get_integration(kind).options_schema) is not None
    }
    return {
        "type": "object",
        "description": "Options for one channel of this send, by channel name (a channel of "
        "`channels` or `fallback_channels`); each channel's integration checks its entry.",
        "properties": entries,
        "additionalProperties": False,
    }


@extend_schema_field(_channel_options_schema())
class ChannelOptionsField(serializers.DictField):
    """{channel: {option: value}}; the kinds' own rules run once the account's channel
    configs are known (accepting.plan_routes)."""


class SendRequestSerializer(serializers.Serializer):
    # min_length documents in the schema what allow_blank / allow_empty already refuse.
    message = serializers.CharField(trim_whitespace=False, min_length=1)
    channels = serializers.ListField(
        child=ChannelNameField(),
        allow_empty=False,
        min_length=1,
        max_length=len(channel_kinds()) * 2,
    )
    recipient = serializers.CharField(min_length=1, max_length=255)
    subject = serializers.CharField(required=False, allow_blank=True, max_length=255)
    metadata = serializers.DictField(required=False, default=dict)
    callback_url = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    retry = serializers.BooleanField(required=False, default=True)
    fallback_channels = serializers.ListField(
        child=ChannelNameField(), required=False, default=list, max_length=len(channel_kinds()) * 2
    )
    channel_options = ChannelOptionsField(required=False, default=dict)

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("The message is blank.", code="blank")
        return value

    def validate_channels(self, value: list[str]) -> list[str]:
        return _check_channel_names(value, "channels")

    def validate_fallback_channels(self, value: list[str]) -> list[str]:
        return _check_channel_names(value, "fallback_channels")

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        problem = unstorable_text(value)
        if problem:
            raise serializers.ValidationError(problem, code="invalid")
        size = len(json.dumps(value, separators=(",", ":")).encode())
        if size > METADATA_LIMIT_BYTES:
            raise serializers.ValidationError(
                f"metadata is {size} bytes as JSON; the limit is {METADATA_LIMIT_BYTES}.",
                code="metadata_too_large",
            )
        return value

    def validate_channel_options(self, value: dict[str, Any]) -> dict[str, Any]:
        kinds = channel_kinds()
        for channel, options in value.items():
            if channel not in kinds:
                raise serializers.ValidationError(
                    {
                        channel: [
                            _error(
                                f"Unknown channel {channel!r}: use {', '.join(kinds)}.",
                                "unknown_channel",
                            )
                        ]
                    }
                )
            if not isinstance(options, dict):
                raise serializers.ValidationError(
                    {channel: [_error("Give this channel's options as an object.", OPTIONS_CODE)]}
                )
        problem = unstorable_text(value)
        if problem:
            raise serializers.ValidationError(problem, code=OPTIONS_CODE)
        return value

    def validate_callback_url(self, value: str) -> str:
        if not value:
            return value
        try:
            return check_receiver_url(value)
        except UrlNotAllowed as exc:
            raise serializers.ValidationError(str(exc), code=exc.code) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        overlap = set(attrs["channels"]) & set(attrs.get("fallback_channels", []))
        if overlap:
            raise serializers.ValidationError(
                {"fallback_channels": f"{sorted(overlap)[0]} is already in channels."},
                code="duplicate_channel",
            )
        sent_on = {*attrs["channels"], *attrs.get("fallback_channels", [])}
        for channel in attrs.get("channel_options", {}):
            if channel not in sent_on:
                message = f"{channel} is in neither channels nor fallback_channels."
                raise serializers.ValidationError(
                    {"channel_options": {channel: [_error(message, OPTIONS_CODE)]}}
                )
        return attrs
