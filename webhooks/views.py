from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from oneping.api.pagination import LogCursorPagination, NewestFirstCursorPagination
from oneping.api.schema import error_doc
from oneping.api.viewsets import AccountScopedMixin, AccountScopedViewSet
from webhooks import endpoints, replay
from webhooks.filters import EventFilter
from webhooks.models import Event, WebhookAttempt, WebhookEndpoint
from webhooks.secrets import account_signing_secret
from webhooks.serializers import (
    EventSerializer,
    NewWebhookEndpointSerializer,
    QueuedCountSerializer,
    RecoverSerializer,
    ReplaySerializer,
    SecretSerializer,
    WebhookAttemptSerializer,
    WebhookEndpointSerializer,
)


class WebhookEndpointViewSet(AccountScopedViewSet):
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer

    @extend_schema(
        responses={
            201: NewWebhookEndpointSerializer,
            400: error_doc(
                "`validation_error`, `url_not_allowed`, or `limit_reached`: the account has "
                "its maximum of webhook endpoints (details.limit)."
            ),
        }
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoints.create(request.account, **serializer.validated_data)
        return Response(NewWebhookEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: WebhookEndpointSerializer) -> None:
        endpoints.update(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        endpoints.delete(instance)

    @extend_schema(responses=SecretSerializer)
    @action(detail=True, methods=["get"], reveals_secret=True)
    def secret(self, request: Request, pk: str | None = None) -> Response:
        return Response({"secret": self.get_object().secret})

    @extend_schema(request=None, responses=SecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new secret; the old one keeps signing alongside it for 24 hours."""
        return Response({"secret": endpoints.rotate_secret(self.get_object())})

    @extend_schema(
        request=None,
        responses={
            202: EventSerializer,
            409: error_doc("`endpoint_disabled`: enable the endpoint first."),
        },
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a webhook.test event to this endpoint now."""
        event = endpoints.send_test(self.get_object())
        return Response(EventSerializer(event).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=WebhookAttemptSerializer(many=True))
    @action(detail=True, methods=["get"])
    def attempts(self, request: Request, pk: str | None = None) -> Response:
        """Every attempt to this endpoint, newest first."""
        endpoint = self.get_object()
        queryset = WebhookAttempt.objects.filter(endpoint=endpoint).select_related("event")
        paginator = NewestFirstCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(WebhookAttemptSerializer(page, many=True).data)

    @extend_schema(request=RecoverSerializer, responses={202: QueuedCountSerializer})
    @action(detail=True, methods=["post"])
    def recover(self, request: Request, pk: str | None = None) -> Response:
        """Re-send every failed delivery to this endpoint since the given time."""
        endpoint = self.get_object()
        params = RecoverSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        queued = replay.recover(endpoint, params.validated_data["since"])
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


class EventViewSet(
    AccountScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    queryset = Event.objects.prefetch_related("webhook_deliveries")
    serializer_class = EventSerializer
    pagination_class = LogCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventFilter

    @extend_schema(
        request=ReplaySerializer,
        responses={
            202: QueuedCountSerializer,
            404: error_doc("`not_found`: no such event, or endpoint, in this account."),
        },
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        """Re-send the event (same webhook-id) to all its receivers, or one endpoint."""
        params = ReplaySerializer(data=request.data or {})
        params.is_valid(raise_exception=True)
        # The service looks the event up in the account, as the dashboard's replay does.
        queued = replay.replay(request.account, pk, params.validated_data.get("endpoint_id"))
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


class SigningSecretView(GenericAPIView):
    """The secret that signs events sent to a message's callback_url."""

    reveals_secret = True
    serializer_class = SecretSerializer

    def get(self, request: Request) -> Response:
        return Response({"secret": account_signing_secret(request.account)})
