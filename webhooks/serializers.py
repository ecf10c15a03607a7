import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oneping.urlguard import UrlNotAllowed, check_receiver_url
from webhooks.events import EVENT_TYPES
from webhooks.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookEndpointSerializer(serializers.ModelSerializer):
    url = serializers.CharField(max_length=2048)
    event_types = serializers.ListField(child=serializers.CharField(), required=False, default=list)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "disabled_reason", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        try:
            return check_receiver_url(value)
        except UrlNotAllowed as exc:
            raise serializers.ValidationError(str(exc), code=exc.code) from None

    def validate_event_types(self, value: list[str]) -> list[str]:
        unknown = [event_type for event_type in value if event_type not in EVENT_TYPES]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown event type {unknown[0]!r}: use {', '.join(EVENT_TYPES)}.",
                code="unknown_event_type",
            )
        return sorted(set(value))


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True)


class NewWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True)

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class RecoverSerializer(serializers.Serializer):
    since = serializers.DateTimeField()


class ReplaySerializer(serializers.Serializer):
    endpoint_id = serializers.CharField(required=False)


class QueuedCountSerializer(serializers.Serializer):
    queued = serializers.IntegerField()


class WebhookDeliverySummarySerializer(serializers.ModelSerializer):
    receiver = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint_id", "receiver", "status", "attempts", "last_status_code"]

    def get_receiver(self, delivery: WebhookDelivery) -> str:
        return "endpoint" if delivery.endpoint_id else "callback_url"


class EventSerializer(serializers.ModelSerializer):
    payload = serializers.SerializerMethodField()
    webhook_deliveries = WebhookDeliverySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "type",
            "message_id",
            "delivery_id",
            "sequence",
            "created_at",
            "payload",
            "webhook_deliveries",
        ]

    @extend_schema_field(serializers.DictField())
    def get_payload(self, event: Event) -> dict[str, Any]:
        return json.loads(event.body)


class WebhookAttemptSerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = WebhookAttempt
        fields = [
            "id",
            "at",
            "event_id",
            "event_type",
            "webhook_delivery_id",
            "url",
            "request_headers",
            "status_code",
            "duration_ms",
            "response_body",
            "error",
            "trigger",
        ]
