from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import LivemodeField
from oneping.api.viewsets import ValidatesOnly
from oneping.crypto import mask
from oneping.public_url import absolute_url
from webhooks.inbound import preview, schemes, validation
from webhooks.inbound.receiving import MAX_BODY_BYTES
from webhooks.models import InboundEndpoint, InboundEvent, InboundEventMessage


def messages_of(event: InboundEvent) -> list[InboundEventMessage]:
    """The messages the event made, in the order its rules fired."""
    return list(event.made.select_related("message").order_by("pk"))


# Validates; webhooks.inbound.endpoints acts (ValidatesOnly).
class InboundEndpointSerializer(ValidatesOnly, serializers.ModelSerializer):
    livemode = LivemodeField()
    secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=500
    )
    rules = serializers.JSONField(required=False, default=list)
    event_type_from = serializers.JSONField(required=False, allow_null=True)
    allowed_ips = serializers.JSONField(required=False)
    url = serializers.SerializerMethodField()
    secret_hint = serializers.SerializerMethodField()
    # Both choice lists are filled per instance, from the scheme registry (__init__).
    preset = serializers.ChoiceField(choices=[], write_only=True, required=False)
    preset_channels = serializers.ListField(
        child=serializers.CharField(), write_only=True, required=False
    )
    preset_recipient = serializers.CharField(write_only=True, required=False)
    verification = serializers.ChoiceField(choices=[], required=False)
    # The generic "hmac" scheme's description; schemes/hmac.py validates it.
    hmac = serializers.JSONField(required=False)
    token_prefix = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=41
    )

    class Meta:
        model = InboundEndpoint
        fields = [
            "id",
            "livemode",
            "name",
            "url",
            "verification",
            "secret",
            "secret_hint",
            "signature_header",
            "hmac",
            "token_prefix",
            "rules",
            "rule_mode",
            "event_type_from",
            "allowed_ips",
            "enabled",
            "failed_verifications",
            "last_failure_reason",
            "last_failure_at",
            "created_at",
            "updated_at",
            "preset",
            "preset_channels",
            "preset_recipient",
        ]
        read_only_fields = [
            "id",
            "failed_verifications",
            "last_failure_reason",
            "last_failure_at",
            "created_at",
            "updated_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["verification"].choices = schemes.verification_choices()
        self.fields["preset"].choices = [preset["key"] for preset in schemes.presets()]

    def get_url(self, endpoint: InboundEndpoint) -> str:
        path = f"/hooks/in/{endpoint.token}"
        # ONEPING_PUBLIC_URL when set (oneping.public_url); the bare path without a request.
        return absolute_url(path, self.context.get("request")) or path

    def get_secret_hint(self, endpoint: InboundEndpoint) -> str:
        return mask(endpoint.secret)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        preset_key = attrs.pop("preset", None)
        preset_channels = attrs.pop("preset_channels", None)
        preset_recipient = attrs.pop("preset_recipient", None)
        if preset_key:
            chosen = schemes.preset(preset_key)
            attrs.setdefault("verification", chosen["verification"])
            for name, value in chosen["settings"].items():
                # What the request leaves out or sends as null is the preset's: the
                # dashboard's form sends a blank event_type_from as null. {} keeps the
                # scheme's own event type.
                if attrs.get(name) is None:
                    attrs[name] = value
            attrs["rules"] = schemes.preset_rules(
                preset_key, preset_channels or ["slack"], preset_recipient or "team"
            )
        # The checks the admin's form runs too (validation.py).
        try:
            return validation.clean_fields(attrs, self.instance, self.context["request"].account)
        except validation.InvalidField as exc:
            raise serializers.ValidationError(
                {exc.path: [serializers.ErrorDetail(exc.message, code=exc.code)]}
            ) from None


class NewInboundEndpointSerializer(InboundEndpointSerializer):
    """The create answer: the secret is shown this once."""

    secret = serializers.CharField(read_only=True)


class InboundEventSerializer(serializers.ModelSerializer):
    livemode = LivemodeField()
    endpoint_id = serializers.CharField(read_only=True)
    message_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = InboundEvent
        fields = [
            "id",
            "livemode",
            "endpoint_id",
            "event_type",
            "status",
            "error",
            "received_at",
            "processed_at",
            "message_id",
        ]


class InboundEventMessageSerializer(serializers.Serializer):
    """A message the event made, and the rule that made it (null: made before rule ids)."""

    id = serializers.CharField(source="message.id")
    livemode = LivemodeField()
    rule = serializers.CharField(source="rule_id", allow_null=True)
    status = serializers.CharField(source="message.status")
    recipient = serializers.CharField(source="message.recipient")
    channels = serializers.ListField(source="message.channels", child=serializers.CharField())
    created_at = serializers.DateTimeField(source="message.created_at")

    def to_representation(self, made: Any) -> dict[str, Any]:
        answer = super().to_representation(made)
        answer["rule"] = answer["rule"] or None
        return answer


class InboundEventDetailSerializer(InboundEventSerializer):
    body = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()

    class Meta(InboundEventSerializer.Meta):
        fields = [
            *InboundEventSerializer.Meta.fields,
            "dedup_key",
            "headers",
            "content_type",
            "remote_ip",
            "body",
            "messages",
        ]

    def get_body(self, event: InboundEvent) -> str:
        return bytes(event.body).decode("utf-8", errors="replace")

    @extend_schema_field(InboundEventMessageSerializer(many=True))
    def get_messages(self, event: InboundEvent) -> list[dict[str, Any]]:
        return InboundEventMessageSerializer(messages_of(event), many=True).data


class BulkReprocessSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.CharField(), required=False, max_length=1000)
    status = serializers.ChoiceField(choices=["failed", "ignored"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("status" in attrs):
            raise serializers.ValidationError("Give either ids or status.")
        return attrs


class InboundPreviewRequestSerializer(serializers.Serializer):
    """A delivery as the sender's log shows it: its headers and its raw body."""

    headers = serializers.DictField(
        child=serializers.CharField(
            allow_blank=True, trim_whitespace=False, max_length=preview.MAX_HEADER_VALUE
        ),
        required=False,
        default=dict,
    )
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)

    def validate_headers(self, value: dict[str, str]) -> dict[str, str]:
        if len(value) > preview.MAX_HEADERS:
            raise serializers.ValidationError(f"At most {preview.MAX_HEADERS} headers.")
        return value

    def validate_body(self, value: str) -> bytes:
        # Receiving's own cap: a preview renders no more than a real request could bring.
        body = value.encode("utf-8", "surrogatepass")
        if len(body) > MAX_BODY_BYTES:
            raise serializers.ValidationError(f"At most {MAX_BODY_BYTES} bytes.")
        return body


class InboundPreviewMessageSerializer(serializers.Serializer):
    rule = serializers.CharField()
    channels = serializers.ListField(child=serializers.CharField())
    fallback_channels = serializers.ListField(child=serializers.CharField())
    recipient = serializers.CharField()
    subject = serializers.CharField()
    message = serializers.CharField()
    metadata = serializers.DictField(child=serializers.CharField())


class InboundPreviewSerializer(serializers.Serializer):
    """What the delivery would do (documentation of webhooks.inbound.preview's answer)."""

    verified = serializers.BooleanField()
    failure = serializers.ChoiceField(
        choices=["header", "timestamp", "signature", "settings"],
        allow_null=True,
        help_text="The check that refused the delivery, when not verified.",
    )
    reason = serializers.CharField(help_text="Why verification failed, or why it is stale.")
    timestamp_ok = serializers.BooleanField(
        help_text="False when the timestamp is outside the window (a pasted delivery "
        "always is): reported apart, verification is judged with the window lifted."
    )
    event_type = serializers.CharField(allow_null=True)
    immediate_answer = serializers.DictField(
        allow_null=True, help_text="The answer of a URL check (Slack's challenge): no event."
    )
    messages = InboundPreviewMessageSerializer(many=True)
    errors = serializers.ListField(
        child=serializers.CharField(), help_text="A condition or template that failed."
    )
