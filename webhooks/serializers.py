import json
from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import LivemodeField
from oneping.api.viewsets import ValidatesOnly
from webhooks import endpoints
from webhooks.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookEndpointSerializer(ValidatesOnly, serializers.ModelSerializer):
    livemode = LivemodeField()
    url = serializers.CharField(max_length=2048)
    event_types = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text=(
            "The event types to receive; empty: every event except the opt-in ones "
            "(account.quota_warning), which are sent only to endpoints that name them."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "livemode",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "disabled_reason", "created_at", "updated_at"]

    # The rules are the service's (webhooks.endpoints), so the dashboard's form says the same.
    def validate_url(self, value: str) -> str:
        return _field_check(endpoints.clean_url, value)

    def validate_event_types(self, value: list[str]) -> list[str]:
        return _field_check(endpoints.clean_event_types, value)


def _field_check(check: Callable[[Any], Any], value: Any) -> Any:
    """`check`'s cleaned value, or its refusal as this field's validation error."""
    try:
        return check(value)
    except endpoints.InvalidField as exc:
        raise serializers.ValidationError(exc.text, code=exc.code) from None


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
    livemode = LivemodeField()
    receiver = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "livemode",
            "endpoint_id",
            "receiver",
            "status",
            "attempts",
            "last_status_code",
        ]

    def get_receiver(self, delivery: WebhookDelivery) -> str:
        return "endpoint" if delivery.endpoint_id else "callback_url"


class EventSerializer(serializers.ModelSerializer):
    livemode = LivemodeField()
    payload = serializers.SerializerMethodField()
    webhook_deliveries = WebhookDeliverySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "livemode",
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
    livemode = LivemodeField()
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = WebhookAttempt
        fields = [
            "id",
            "livemode",
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
