"""GET /api/v1/suppressions (`read`), GET …/{id} and DELETE …/{id} (lift: `admin`): the
account's suppression list (channels_app.suppressions acts)."""

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.viewsets import GenericViewSet

from accounts.serializers import LivemodeField
from channels_app import suppressions
from channels_app.filters import CHANNEL_CHOICES
from channels_app.models import Suppression
from oneping.api.pagination import LogCursorPagination
from oneping.api.viewsets import AccountScopedMixin


class SuppressionSerializer(serializers.ModelSerializer):
    livemode = LivemodeField()
    delivery_id = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The delivery whose bounce, complaint or refusal added the address.",
    )

    class Meta:
        model = Suppression
        fields = [
            "id",
            "livemode",
            "channel",
            "address",
            "reason",
            "description",
            "delivery_id",
            "created_at",
        ]
        read_only_fields = fields


# Shared with the dashboard's page (channels_app.dashboard.suppressions).
class SuppressionFilter(django_filters.FilterSet):
    channel = django_filters.ChoiceFilter(choices=CHANNEL_CHOICES)
    address = django_filters.CharFilter(
        method="filter_address",
        help_text="An email address (any case) or a phone number (any format with its "
        "country code).",
    )
    reason = django_filters.ChoiceFilter(choices=Suppression.Reason.choices)

    class Meta:
        model = Suppression
        fields = ["channel", "address", "reason"]

    def filter_address(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(address=suppressions.normalize_query(value))


@extend_schema_view(
    list=extend_schema(
        description="Addresses no delivery is attempted to (per channel kind), newest first."
    ),
    destroy=extend_schema(
        description="Lift a suppression: the next delivery to the address is sent.",
        responses={204: OpenApiResponse(description="Lifted.")},
    ),
)
class SuppressionViewSet(
    AccountScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    queryset = Suppression.objects.all()
    serializer_class = SuppressionSerializer
    pagination_class = LogCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = SuppressionFilter

    def perform_destroy(self, instance: Suppression) -> None:
        suppressions.lift(instance)
