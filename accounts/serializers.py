from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account, ApiKey, Plan
from accounts.usage import usage_for


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["name", "monthly_quota"]


class UsageSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    used = serializers.IntegerField()
    limit = serializers.IntegerField()
    remaining = serializers.IntegerField()


class AccountSerializer(serializers.ModelSerializer):
    plan = PlanSerializer()
    usage = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["id", "name", "slug", "created_at", "plan", "usage"]

    @extend_schema_field(UsageSerializer)
    def get_usage(self, account: Account) -> dict:
        return UsageSerializer(usage_for(account)).data


class ApiKeySerializer(serializers.ModelSerializer):
    revoked = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_revoked(self, api_key: ApiKey) -> bool:
        return api_key.revoked_at is not None


class NewApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown only once.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
