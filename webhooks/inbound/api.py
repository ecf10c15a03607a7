import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounts.scopes import Scope
from oneping.api.pagination import LogCursorPagination
from oneping.api.schema import error_doc
from oneping.api.viewsets import AccountScopedMixin, AccountScopedViewSet
from webhooks.inbound import endpoints, preview, schemes
from webhooks.inbound.serializers import (
    BulkReprocessSerializer,
    InboundEndpointSerializer,
    InboundEventDetailSerializer,
    InboundEventSerializer,
    InboundPreviewRequestSerializer,
    InboundPreviewSerializer,
    NewInboundEndpointSerializer,
)
from webhooks.models import InboundEndpoint, InboundEvent

QueuedSerializer = inline_serializer("InboundQueued", {"queued": serializers.IntegerField()})
PresetSerializer = inline_serializer(
    "InboundPreset",
    {
        "key": serializers.CharField(),
        "name": serializers.CharField(),
        "verification": serializers.CharField(),
        "rules": serializers.ListField(child=serializers.DictField()),
    },
    many=True,
)


class InboundEndpointViewSet(AccountScopedViewSet):
    # Its `url` carries the token: whoever has it can post events that send messages.
    reveals_secret = True
    queryset = InboundEndpoint.objects.all()
    serializer_class = InboundEndpointSerializer

    @extend_schema(
        responses={
            201: NewInboundEndpointSerializer,
            400: error_doc(
                "`validation_error`, or `limit_reached`: the account has its maximum of "
                "inbound endpoints (details.limit)."
            ),
        }
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoints.create(request.account, **serializer.validated_data)
        answer = NewInboundEndpointSerializer(endpoint, context={"request": request})
        return Response(answer.data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: InboundEndpointSerializer) -> None:
        serializer.instance = endpoints.update(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: InboundEndpoint) -> None:
        endpoints.delete(instance)

    @extend_schema(
        request=InboundPreviewRequestSerializer,
        responses={
            200: InboundPreviewSerializer,
            400: error_doc("`validation_error`: headers or body missing or too large."),
            429: error_doc(
                "`rate_limited`: the account's previews are over "
                "`ONEPING_INBOUND_PREVIEW_RATE_PER_ACCOUNT` (details, Retry-After)."
            ),
        },
    )
    # The `admin` scope (the default for a write, said here on purpose): the answer tells
    # whether a body verifies with the endpoint's secret, an oracle for it, and shows what
    # the rules make of any payload; nothing is sent, so `send` would be the wrong reason.
    @action(detail=True, methods=["post"], required_scope=Scope.ADMIN)
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """What this delivery (headers and raw body, as the sender's log shows them) would
        do here: verification, event type, the rendered messages. Nothing is stored or sent."""
        # The endpoint first: another account's id is 404 whatever the body says.
        endpoint = self.get_object()
        params = InboundPreviewRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        answer = preview.preview(
            endpoint, params.validated_data["headers"], params.validated_data["body"]
        )
        return Response(answer)


class InboundEventFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InboundEvent.Status.choices)
    endpoint = django_filters.CharFilter(field_name="endpoint_id")

    class Meta:
        model = InboundEvent
        fields = ["status", "endpoint"]


class InboundEventViewSet(
    AccountScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Received events; `?status=failed` lists the dead letters."""

    queryset = InboundEvent.objects.defer("body", "headers", "traceback")
    pagination_class = LogCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = InboundEventFilter

    def get_serializer_class(self):
        return InboundEventDetailSerializer if self.action == "retrieve" else InboundEventSerializer

    def get_queryset(self):
        if self.action == "retrieve":
            return InboundEvent.objects.filter(account=self.request.account)
        return super().get_queryset()

    @extend_schema(request=None, responses={202: QueuedSerializer})
    @action(detail=True, methods=["post"])
    def reprocess(self, request: Request, pk: str | None = None) -> Response:
        queued = endpoints.reprocess([self.get_object()])
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=BulkReprocessSerializer,
        responses={202: QueuedSerializer},
        operation_id="inbound_events_reprocess_many",
    )
    @action(detail=False, methods=["post"], url_path="reprocess")
    def reprocess_many(self, request: Request) -> Response:
        params = BulkReprocessSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        events = InboundEvent.objects.filter(account=request.account).only("pk", "status")
        if "ids" in params.validated_data:
            events = events.filter(pk__in=params.validated_data["ids"])
        else:
            events = events.filter(status=params.validated_data["status"])
        queued = endpoints.reprocess(events[: endpoints.REPROCESS_BATCH])
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


class InboundPresetsView(GenericAPIView):
    """Ready-made rule sets (pick one with `preset` when creating an inbound endpoint)."""

    pagination_class = None  # a handful of presets, answered as one list

    @extend_schema(responses={200: PresetSerializer})
    def get(self, request: Request) -> Response:
        return Response(schemes.presets())
