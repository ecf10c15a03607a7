from typing import Any

from rest_framework import serializers

from channels_app.models import ChannelConfig
from oneping.api.viewsets import ValidatesOnly
from oneping.crypto import mask
from oneping.public_url import absolute_url
from webhooks.inbound import allowlist, event_types, schemes
from webhooks.inbound.rules import RuleError, clean_rules
from webhooks.models import InboundEndpoint, InboundEvent


# Validates; webhooks.inbound.endpoints acts (ValidatesOnly).
class InboundEndpointSerializer(ValidatesOnly, serializers.ModelSerializer):
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

    class Meta:
        model = InboundEndpoint
        fields = [
            "id",
            "name",
            "url",
            "verification",
            "secret",
            "secret_hint",
            "signature_header",
            "rules",
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
            attrs.setdefault("verification", schemes.preset(preset_key)["verification"])
            attrs["rules"] = schemes.preset_rules(
                preset_key, preset_channels or ["slack"], preset_recipient or "team"
            )
        verification = attrs.get("verification") or getattr(self.instance, "verification", None)
        if verification is None:
            raise serializers.ValidationError({"verification": "This field is required."})
        secret = attrs.get("secret", getattr(self.instance, "secret", ""))
        if schemes.SCHEMES[verification].needs_secret and not secret:
            raise serializers.ValidationError(
                {"secret": f"The {verification} verification needs the sender's secret."}
            )
        try:
            if "event_type_from" in attrs:
                attrs["event_type_from"] = event_types.clean(attrs["event_type_from"])
            if "allowed_ips" in attrs:
                attrs["allowed_ips"] = allowlist.clean(attrs["allowed_ips"])
        except (event_types.EventTypeFromError, allowlist.AllowedIpsError) as exc:
            raise serializers.ValidationError(
                {exc.path: [serializers.ErrorDetail(exc.message, code="invalid")]}
            ) from None
        if "rules" in attrs or self.instance is None:
            account = self.context["request"].account
            configured = set(
                ChannelConfig.objects.filter(account=account).values_list("kind", flat=True)
            )
            try:
                attrs["rules"] = clean_rules(attrs.get("rules", []), configured)
            except RuleError as exc:
                raise serializers.ValidationError(
                    {exc.path: [serializers.ErrorDetail(exc.message, code="invalid_rule")]}
                ) from None
        return attrs


class NewInboundEndpointSerializer(InboundEndpointSerializer):
    """The create answer: the secret is shown this once."""

    secret = serializers.CharField(read_only=True)


class InboundEventSerializer(serializers.ModelSerializer):
    endpoint_id = serializers.CharField(read_only=True)
    message_id = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = InboundEvent
        fields = [
            "id",
            "endpoint_id",
            "event_type",
            "status",
            "error",
            "received_at",
            "processed_at",
            "message_id",
        ]


class InboundEventDetailSerializer(InboundEventSerializer):
    body = serializers.SerializerMethodField()

    class Meta(InboundEventSerializer.Meta):
        fields = [
            *InboundEventSerializer.Meta.fields,
            "dedup_key",
            "headers",
            "content_type",
            "remote_ip",
            "body",
        ]

    def get_body(self, event: InboundEvent) -> str:
        return bytes(event.body).decode("utf-8", errors="replace")


class BulkReprocessSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.CharField(), required=False, max_length=1000)
    status = serializers.ChoiceField(choices=["failed", "ignored"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("status" in attrs):
            raise serializers.ValidationError("Give either ids or status.")
        return attrs
