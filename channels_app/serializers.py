from typing import Any

from rest_framework import serializers

from channels_app.channel_config import clean_channel_config
from channels_app.contacts import clean_addresses, shown_addresses
from channels_app.integrations import KINDS, get_integration
from channels_app.integrations.base import ConfigError
from channels_app.models import ChannelConfig, Contact, Delivery, Message, TimelineEntry
from oneping.crypto import mask


class ChannelConfigSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=KINDS)
    config = serializers.DictField(required=False, default=dict)

    class Meta:
        model = ChannelConfig
        fields = ["id", "kind", "config", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

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
            raise serializers.ValidationError(
                {"config": {exc.field: [serializers.ErrorDetail(exc.message, code=exc.code)]}}
            ) from None
        return attrs

    def to_representation(self, instance: ChannelConfig) -> dict[str, Any]:
        data = super().to_representation(instance)
        secrets = get_integration(instance.kind).secret_fields
        data["config"] = {
            key: mask(value) if key in secrets and value else value
            for key, value in instance.config.items()
        }
        return data


class ContactSerializer(serializers.ModelSerializer):
    addresses = serializers.DictField(required=False, default=dict)

    class Meta:
        model = Contact
        fields = ["id", "identifier", "name", "addresses", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_identifier(self, value: str) -> str:
        account = self.context["request"].account
        clash = Contact.objects.filter(account=account, identifier=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                "A contact with this identifier already exists.", code="contact_exists"
            )
        return value

    def validate_addresses(self, value: dict[str, Any]) -> dict[str, str]:
        existing = self.instance.addresses if self.instance is not None else None
        try:
            return clean_addresses(value, existing)
        except ConfigError as exc:
            if exc.code == "unknown_channel":
                raise serializers.ValidationError(exc.message, code=exc.code) from None
            raise serializers.ValidationError(
                {exc.field: [serializers.ErrorDetail(exc.message, code=exc.code)]}
            ) from None

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["addresses"] = shown_addresses(instance.addresses)
        return data


class TimelineEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEntry
        fields = ["status", "at", "attempt", "detail"]


class DeliverySummarySerializer(serializers.ModelSerializer):
    fallback = serializers.BooleanField(source="is_fallback", read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "channel", "status", "fallback"]


class DeliverySerializer(serializers.ModelSerializer):
    fallback = serializers.BooleanField(source="is_fallback", read_only=True)
    timeline = TimelineEntrySerializer(source="steps", many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "message_id",
            "channel",
            "address",
            "status",
            "fallback",
            "attempts",
            "provider_message_id",
            "last_error",
            "next_attempt_at",
            "created_at",
            "updated_at",
            "timeline",
        ]


class MessageListSerializer(serializers.ModelSerializer):
    message = serializers.CharField(source="body")
    deliveries = DeliverySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "status",
            "created_at",
            "recipient",
            "subject",
            "message",
            "channels",
            "fallback_channels",
            "metadata",
            "is_test",
            "deliveries",
        ]


class MessageSerializer(MessageListSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(MessageListSerializer.Meta):
        fields = [*MessageListSerializer.Meta.fields, "callback_url", "retry"]


class ChannelTestSerializer(serializers.Serializer):
    recipient = serializers.CharField(required=False, allow_blank=True, max_length=255)
