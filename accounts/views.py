from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounts import api_keys, environments
from accounts.models import ApiKey, Plan, User
from accounts.scopes import ALL_SCOPES
from accounts.serializers import (
    AccountSerializer,
    ApiKeySerializer,
    NewApiKeySerializer,
    PlanSerializer,
)
from oneping.api.schema import COMMON_ERRORS, error_doc
from oneping.api.viewsets import AccountScopedMixin


class AccountView(GenericAPIView):
    serializer_class = AccountSerializer

    def get(self, request: Request) -> Response:
        return Response(self.get_serializer(request.account).data)


class PlansView(GenericAPIView):
    """The public plans, cheapest first: price, monthly quota and limits. The same for
    every account (nothing here is an account's), so any key with `read` may list them."""

    serializer_class = PlanSerializer
    pagination_class = None

    @extend_schema(responses={200: PlanSerializer(many=True)})
    def get(self, request: Request) -> Response:
        plans = Plan.objects.filter(public=True)  # cheapest first: Plan.Meta.ordering
        return Response(self.get_serializer(plans, many=True).data)


class ApiKeyViewSet(
    AccountScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    GenericViewSet,
):
    """API keys of the account. DELETE revokes: the key stops working at once."""

    queryset = ApiKey.objects.select_related("created_by_user")
    serializer_class = ApiKeySerializer

    @extend_schema(
        request=ApiKeySerializer,
        responses={
            201: NewApiKeySerializer,
            400: error_doc(
                "`validation_error`, or `limit_reached`: the account has "
                "its plan's max_api_keys active keys of that mode (details.limit)."
            ),
            403: error_doc(
                f"{COMMON_ERRORS[403]} `live_key_from_test_key`: a test key asked for a live "
                "key (`mode`)."
            ),
        },
    )
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        creator = request.auth if isinstance(request.auth, ApiKey) else None
        mode = serializer.validated_data.get("mode", environments.mode_of(request.account))
        api_key, raw_key = api_keys.issue_key(
            environments.environment(request.account, mode),
            serializer.validated_data["name"],
            # By default, as much as the creating key may grant: all of its own scopes.
            serializer.validated_data.get("scopes", creator.scopes if creator else ALL_SCOPES),
            created_by_user=request.user if isinstance(request.user, User) else None,
            created_by_key=creator,
        )
        api_key.key = raw_key
        return Response(NewApiKeySerializer(api_key).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiKey) -> None:
        api_keys.revoke_key(instance)
