from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
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
from oneping.errors import ServiceError
from webhooks import endpoints, events, sending
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
from webhooks.signing import new_secret


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
        endpoint = endpoints.create_webhook_endpoint(request.account, **serializer.validated_data)
        return Response(NewWebhookEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer) -> None:
        was_enabled = serializer.instance.enabled
        with transaction.atomic():
            endpoint = serializer.save()
            if endpoint.enabled and not was_enabled:
                # Re-enabled by its owner: forget the old failures, send what was kept.
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                    disabled_reason="", failing_since=None
                )
                endpoint.disabled_reason = ""
                sending.resume(endpoint)

    @extend_schema(responses=SecretSerializer)
    @action(detail=True, methods=["get"], reveals_secret=True)
    def secret(self, request: Request, pk: str | None = None) -> Response:
        return Response({"secret": self.get_object().secret})

    @extend_schema(request=None, responses=SecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new secret; the old one keeps signing alongside it for 24 hours."""
        endpoint = self.get_object()
        overlap = timedelta(hours=settings.ONEPING_WEBHOOK_ROTATION_OVERLAP_HOURS)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + overlap
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        return Response({"secret": endpoint.secret})

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
        endpoint = self.get_object()
        if not endpoint.enabled:
            raise ServiceError(
                "endpoint_disabled",
                "This endpoint is disabled; enable it before sending a test event.",
                status=409,
            )
        with transaction.atomic():
            event = events.create_event(
                request.account,
                events.TEST_EVENT,
                {"endpoint_id": endpoint.pk, "message": "Test event from oneping."},
                endpoints=[endpoint],
            )
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
        queued = sending.recover(endpoint, params.validated_data["since"])
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


class EventViewSet(
    AccountScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    queryset = Event.objects.prefetch_related("webhook_deliveries")
    serializer_class = EventSerializer
    pagination_class = LogCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventFilter

    @extend_schema(request=ReplaySerializer, responses={202: QueuedCountSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        """Re-send the event (same webhook-id) to all its receivers, or one endpoint."""
        event = self.get_object()
        params = ReplaySerializer(data=request.data or {})
        params.is_valid(raise_exception=True)
        endpoint = None
        if "endpoint_id" in params.validated_data:
            endpoint = WebhookEndpoint.objects.filter(
                account=request.account, pk=params.validated_data["endpoint_id"]
            ).first()
            if endpoint is None:
                raise ServiceError(
                    "not_found", "No such webhook endpoint in this account.", status=404
                )
        queued = sending.replay(event, endpoint)
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


class SigningSecretView(GenericAPIView):
    """The secret that signs events sent to a message's callback_url."""

    reveals_secret = True
    serializer_class = SecretSerializer

    def get(self, request: Request) -> Response:
        return Response({"secret": account_signing_secret(request.account)})
