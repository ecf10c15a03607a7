from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts.scopes import Scope
from channels_app import channels, contacts
from channels_app import delivery as delivery_service
from channels_app.accepting import IDEMPOTENCY_KEY_LIMIT, accept_message
from channels_app.batching import BATCH_LIMIT, accept_batch
from channels_app.filters import DeliveryFilter, MessageFilter
from channels_app.models import ChannelConfig, Contact, Delivery, Message, TimelineEntry
from channels_app.send_request import SendRequestSerializer
from channels_app.serializers import (
    ChannelConfigSerializer,
    ChannelTestSerializer,
    ContactSerializer,
    DeliverySerializer,
    MessageListSerializer,
    MessageSerializer,
)
from oneping.api.pagination import LogCursorPagination
from oneping.api.schema import COMMON_ERRORS, error_doc
from oneping.api.viewsets import AccountScopedMixin, AccountScopedViewSet
from oneping.errors import ServiceError

# The 202 body of a send (channels_app.accepting.accepted_body), as documented. `livemode`
# is false for a message of the test environment (accounts.environments), like every object.
AcceptedSerializer = inline_serializer(
    "Accepted",
    {
        "id": serializers.CharField(),
        "livemode": serializers.BooleanField(),
        "status": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "recipient": serializers.CharField(),
        "channels": serializers.ListField(child=serializers.CharField()),
        "fallback_channels": serializers.ListField(child=serializers.CharField()),
        "deliveries": inline_serializer(
            "AcceptedDelivery",
            {
                "id": serializers.CharField(),
                "livemode": serializers.BooleanField(),
                "channel": serializers.CharField(),
                "status": serializers.CharField(),
                "fallback": serializers.BooleanField(),
            },
            many=True,
        ),
        "usage": serializers.DictField(),
    },
)


class SendView(APIView):
    """POST /api/v1/send (and /send): accept a message for delivery on its channels."""

    required_scope = Scope.SEND

    @extend_schema(
        request=SendRequestSerializer,
        responses={
            202: AcceptedSerializer,
            403: error_doc(
                f"{COMMON_ERRORS[403]} `owner_not_verified`: the platform's mail needs a "
                "verified account owner."
            ),
            409: error_doc("`idempotency_conflict`: the key was used with another body."),
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_LIMIT},
                OpenApiParameter.HEADER,
                description="Same key and body within 24 h: the same answer, nothing sent.",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_LIMIT:
            raise ServiceError(
                "invalid_idempotency_key",
                f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_LIMIT} characters.",
            )
        if not isinstance(request.data, dict):
            raise ServiceError("invalid_body", "The request body must be a JSON object.")
        accepted = accept_message(request.account, request.data, idempotency_key=key)
        response = Response(accepted.body, status=status.HTTP_202_ACCEPTED)
        usage = accepted.usage
        response["X-Quota-Limit"] = str(usage.get("limit", ""))
        response["X-Quota-Remaining"] = str(usage.get("remaining", ""))
        if accepted.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


@extend_schema(exclude=True)
class SendAliasView(SendView):
    """POST /send: the One-Ping-compatible alias, answered exactly like /api/v1/send."""


class BatchItemSerializer(SendRequestSerializer):
    """One message of a batch: a /send body, with its own optional idempotency_key."""

    idempotency_key = serializers.CharField(
        required=False,
        min_length=1,
        max_length=IDEMPOTENCY_KEY_LIMIT,
        help_text="As /send's Idempotency-Key header, for this message alone.",
    )


class BatchSendRequestSerializer(serializers.Serializer):
    messages = serializers.ListField(
        child=BatchItemSerializer(), min_length=1, max_length=BATCH_LIMIT
    )


# One item's answer in a batch: the fields of a send's answer (without usage), or `error`.
BatchAcceptedSerializer = inline_serializer(
    "BatchAccepted",
    {
        "data": inline_serializer(
            "BatchItemResult",
            {
                "index": serializers.IntegerField(help_text="The item's place in `messages`."),
                "id": serializers.CharField(required=False),
                "livemode": serializers.BooleanField(required=False),
                "status": serializers.CharField(required=False),
                "created_at": serializers.DateTimeField(required=False),
                "recipient": serializers.CharField(required=False),
                "channels": serializers.ListField(child=serializers.CharField(), required=False),
                "fallback_channels": serializers.ListField(
                    child=serializers.CharField(), required=False
                ),
                "deliveries": inline_serializer(
                    "BatchItemDelivery",
                    {
                        "id": serializers.CharField(),
                        "livemode": serializers.BooleanField(),
                        "channel": serializers.CharField(),
                        "status": serializers.CharField(),
                        "fallback": serializers.BooleanField(),
                    },
                    many=True,
                    required=False,
                ),
                "replayed": serializers.BooleanField(
                    required=False, help_text="The original answer to this idempotency_key."
                ),
                "error": serializers.DictField(
                    required=False,
                    help_text="The item was not accepted: {code, message, details}, as /send.",
                ),
            },
            many=True,
        ),
        "usage": serializers.DictField(),
    },
)


class BatchSendView(APIView):
    """POST /api/v1/send/batch (and /send/batch): accept up to 1,000 messages at once.

    Each item is a /send body, optionally with its own `idempotency_key`, and is answered
    in order with /send's answer for it (without `usage`: the batch's is at the top) or
    its own `error`. The quota admits items in order until it runs out."""

    required_scope = Scope.SEND

    @extend_schema(
        request=BatchSendRequestSerializer,
        responses={
            202: BatchAcceptedSerializer,
            400: error_doc(
                "`batch_rejected`: no item was accepted (`details.errors` has each item's "
                "error); `too_many_messages`; `validation_error`."
            ),
            413: error_doc("`payload_too_large`: the body is over the batch's size limit."),
        },
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ServiceError("invalid_body", "The request body must be a JSON object.")
        accepted = accept_batch(request.account, request.data.get("messages"))
        response = Response(accepted.body, status=status.HTTP_202_ACCEPTED)
        response["X-Quota-Limit"] = str(accepted.usage.limit)
        response["X-Quota-Remaining"] = str(accepted.usage.remaining)
        return response


@extend_schema(exclude=True)
class BatchSendAliasView(BatchSendView):
    """POST /send/batch: beside the /send alias, answered exactly like /api/v1/send/batch."""


@extend_schema_view(
    create=extend_schema(
        responses={
            201: ChannelConfigSerializer,
            409: error_doc("`channel_already_configured`: update the existing one."),
        }
    )
)
# The serializer validates, channels_app.channels acts (no docstring here: it would become
# the OpenAPI description of every operation).
class ChannelViewSet(AccountScopedViewSet):
    queryset = ChannelConfig.objects.all()
    serializer_class = ChannelConfigSerializer
    pagination_class = None  # at most one per kind

    creates = staticmethod(channels.create_channel)
    updates = staticmethod(channels.update_channel)

    def perform_destroy(self, instance: ChannelConfig) -> None:
        channels.delete_channel(instance)

    @extend_schema(
        request=ChannelTestSerializer,
        responses={
            202: OpenApiResponse(description="The test message was queued."),
            403: error_doc(
                f"{COMMON_ERRORS[403]} `owner_not_verified`: the platform's mail needs a "
                "verified account owner."
            ),
            429: error_doc(
                "`test_limit_exceeded`: this channel's free tests for the day are used "
                "(`Retry-After`), or `rate_limited`."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a short test message now: not counted against the quota, but capped per
        channel and day. Through the platform's mail, only to a member's verified address."""
        channel = self.get_object()
        params = ChannelTestSerializer(data=request.data or {})
        params.is_valid(raise_exception=True)
        accepted = channels.send_test(
            request.account, channel, params.validated_data.get("recipient") or ""
        )
        body = accepted.body
        return Response(
            {
                "message_id": body["id"],
                "delivery_id": body["deliveries"][0]["id"],
                "status": body["deliveries"][0]["status"],
            },
            status=status.HTTP_202_ACCEPTED,
        )


# The serializer validates, channels_app.contacts acts.
class ContactViewSet(AccountScopedViewSet):
    queryset = Contact.objects.all()
    serializer_class = ContactSerializer

    creates = staticmethod(contacts.create_contact)
    updates = staticmethod(contacts.update_contact)

    def perform_destroy(self, instance: Contact) -> None:
        contacts.delete_contact(instance)


class MessageViewSet(
    AccountScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """The delivery log, newest first."""

    reads_messages = True  # a key that sends may follow what it sent
    queryset = Message.objects.all()
    pagination_class = LogCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = MessageFilter

    def get_serializer_class(self):
        return MessageListSerializer if self.action == "list" else MessageSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            return queryset.prefetch_related("deliveries")
        timeline = Prefetch("timeline", queryset=TimelineEntry.objects.order_by("at", "id"))
        return queryset.prefetch_related(
            Prefetch("deliveries", queryset=Delivery.objects.prefetch_related(timeline))
        )


class DeliveryViewSet(
    AccountScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Deliveries across messages; `?status=failed` lists the dead letters."""

    reads_messages = True  # a message's deliveries are part of reading it
    queryset = Delivery.objects.prefetch_related("timeline")
    pagination_class = LogCursorPagination
    serializer_class = DeliverySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeliveryFilter

    @extend_schema(
        request=None,
        responses={
            202: DeliverySerializer,
            409: error_doc("`delivery_not_failed`: only failed deliveries are retried."),
        },
    )
    # Re-sending a failed delivery is sending: a key that may send may retry what it sent.
    @action(detail=True, methods=["post"], required_scope=Scope.SEND)
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Reprocess a failed delivery: new attempts for the same delivery."""
        delivery = delivery_service.retry_failed(self.get_object())
        # The delivery as accepted (queued): a worker may already have claimed it by now.
        return Response(self.get_serializer(delivery).data, status=status.HTTP_202_ACCEPTED)
