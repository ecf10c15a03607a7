from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import LivemodeField
from channels_app import channels, contacts
from channels_app.channel_config import clean_channel_config
from channels_app.contacts import clean_addresses, shown_addresses
from channels_app.integrations import channel_kinds
from channels_app.integrations.base import ConfigError
from channels_app.models import ChannelConfig, Contact, Delivery, Message, TimelineEntry
from channels_app.pacing import shown as pacing_shown
from oneping.api.viewsets import ValidatesOnly
from oneping.errors import ServiceError


def _rule_error(exc: ConfigError, nested: bool = True) -> serializers.ValidationError:
    """A rule's ConfigError as this serializer's field error (nested under the field's key)."""
    detail = serializers.ErrorDetail(exc.message, code=exc.code)
    return serializers.ValidationError({exc.field: [detail]} if nested else [detail])


class PacingRateSerializer(serializers.Serializer):
    scope = serializers.CharField(
        help_text='What the rate counts: "webhook", "chat", "bot", "sender", "pair", "channel".'
    )
    per_second = serializers.FloatField(help_text="Messages (or SMS segments) a second.")
    burst = serializers.IntegerField(help_text="How many may leave back to back.")


class PacingSerializer(serializers.Serializer):
    paced = serializers.BooleanField(
        help_text="False when the kind has no published rate to keep, or an operator "
        "turned pacing off for this channel."
    )
    max_per_second = serializers.FloatField(
        allow_null=True, help_text="The config's `max_per_second`, or null: the provider's rate."
    )
    rates = PacingRateSerializer(
        many=True,
        help_text="The rates a delivery to the channel's main destination waits for, most "
        "specific first (ONEPING_PACING_HEADROOM under each).",
    )
    waiting = serializers.IntegerField(
        required=False,
        help_text="Queued deliveries waiting for a token or behind an older delivery of "
        "their destination. Only in a single channel's answer, not in the list.",
    )
    paused_until = serializers.DateTimeField(
        allow_null=True,
        help_text="The provider answered 429: nothing goes to the main destination until then.",
    )


class ChannelListSerializer(serializers.ListSerializer):
    """The list reads every channel's pacing at once (one store call), without `waiting`
    (a count per channel)."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        channels_shown = list(data.all() if hasattr(data, "all") else data)
        self.child.pacing_states = pacing_shown.pacing_states(channels_shown, with_waiting=False)
        return super().to_representation(channels_shown)


# Validates a channel as the API and the dashboard receive it; their views hand what it
# validated to channels_app.channels. (A docstring would be the OpenAPI component's
# description.)
class ChannelConfigSerializer(ValidatesOnly, serializers.ModelSerializer):
    livemode = LivemodeField()
    kind = serializers.ChoiceField(choices=())  # the registry's: set per instance, below
    config = serializers.DictField(required=False, default=dict)
    status_callback_url = serializers.SerializerMethodField(
        help_text="Where the provider reports delivery statuses (SMS, WhatsApp): paste it "
        "into Meta's app; Twilio is told with each send. Null for other kinds."
    )
    tracking_webhook_url = serializers.SerializerMethodField(
        help_text="Email through Postmark, Mailgun or Resend: the URL to paste into the "
        "provider's webhook settings for delivered, bounced, complained, opened and clicked "
        "(Postmark's carries this channel's basic-auth credentials). A secret: shown in the "
        "create answer and to `admin`-scoped keys; null for other keys and other channels."
    )
    pacing = serializers.SerializerMethodField(
        help_text="How fast deliveries leave for the channel's main destination (its default "
        "chat, its webhook, its sender…), and how many wait. Read-only: set "
        "`config.max_per_second` to change the rate."
    )

    class Meta:
        model = ChannelConfig
        fields = [
            "id",
            "livemode",
            "kind",
            "config",
            "status_callback_url",
            "tracking_webhook_url",
            "pacing",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        list_serializer_class = ChannelListSerializer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = channel_kinds()

    def validate_kind(self, value: str) -> str:
        if self.instance is not None and value != self.instance.kind:
            raise serializers.ValidationError(
                "The kind of a channel cannot change; create a new channel instead."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind") or self.instance.kind
        stored = self.instance.config if self.instance is not None else None
        try:
            attrs["config"] = clean_channel_config(kind, attrs.get("config", {}), stored)
        except ConfigError as exc:
            raise serializers.ValidationError({"config": _rule_error(exc).detail}) from None
        if self.instance is not None:
            attrs.pop("kind", None)  # the same as stored (validate_kind): not a change
        return attrs

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_status_callback_url(self, instance: ChannelConfig) -> str | None:
        return channels.status_callback_url(instance, self.context.get("request"))

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_tracking_webhook_url(self, instance: ChannelConfig) -> str | None:
        request = self.context.get("request")
        if not channels.may_see_secrets(request):
            return None
        return channels.tracking_webhook_url(instance, request)

    @extend_schema_field(PacingSerializer)
    def get_pacing(self, instance: ChannelConfig) -> dict[str, Any]:
        states = getattr(self, "pacing_states", None) or {}
        state = states.get(instance.pk) or pacing_shown.pacing_states([instance])[instance.pk]
        return PacingSerializer(state).data

    def to_representation(self, instance: ChannelConfig) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["config"] = channels.shown_config(instance)
        return data


# Validates a contact as the API and the dashboard receive it; their views hand what it
# validated to channels_app.contacts.
class ContactSerializer(ValidatesOnly, serializers.ModelSerializer):
    livemode = LivemodeField()
    addresses = serializers.DictField(required=False, default=dict)

    class Meta:
        model = Contact
        fields = ["id", "livemode", "identifier", "name", "addresses", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_identifier(self, value: str) -> str:
        try:
            contacts.check_identifier_free(self.context["request"].account, value, self.instance)
        except ServiceError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None
        return value

    def validate_addresses(self, value: dict[str, Any]) -> dict[str, str]:
        existing = self.instance.addresses if self.instance is not None else None
        try:
            return clean_addresses(value, existing)
        except ConfigError as exc:
            raise _rule_error(exc, nested=exc.code != "unknown_channel") from None

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["addresses"] = shown_addresses(instance.addresses)
        return data


class TimelineEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEntry
        fields = ["status", "at", "attempt", "detail"]


class DeliverySummarySerializer(serializers.ModelSerializer):
    livemode = LivemodeField()
    fallback = serializers.BooleanField(source="is_fallback", read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "livemode", "channel", "status", "fallback"]


class DeliverySerializer(serializers.ModelSerializer):
    livemode = LivemodeField()
    fallback = serializers.BooleanField(source="is_fallback", read_only=True)
    timeline = TimelineEntrySerializer(source="steps", many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "livemode",
            "message_id",
            "channel",
            "address",
            "status",
            "fallback",
            "attempts",
            "segments",
            "opens",
            "clicks",
            "provider_message_id",
            "last_error",
            "next_attempt_at",
            "created_at",
            "updated_at",
            "timeline",
        ]


class MessageListSerializer(serializers.ModelSerializer):
    livemode = LivemodeField()
    message = serializers.CharField(source="body")
    deliveries = DeliverySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "livemode",
            "status",
            "created_at",
            "recipient",
            "subject",
            "message",
            "channels",
            "fallback_channels",
            "metadata",
            "is_channel_test",
            "deliveries",
        ]


class MessageSerializer(MessageListSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(MessageListSerializer.Meta):
        fields = [*MessageListSerializer.Meta.fields, "channel_options", "callback_url", "retry"]


class ChannelTestSerializer(serializers.Serializer):
    recipient = serializers.CharField(required=False, allow_blank=True, max_length=255)
