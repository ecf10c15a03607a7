"""The billing API (POST /api/v1/billing/checkout and /portal) and Stripe's webhook."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.billing import receiving, services
from oneping.api.schema import error_doc
from oneping.bodies import read_capped, too_large

LIVE_ONLY = "`live_account_only`: a test key (op_test_…); billing belongs to the live account."
STRIPE_DOWN = "`billing_unavailable`: Stripe could not be reached or refused the request."
NOT_CONFIGURED = "`billing_not_configured`: the server has no STRIPE_SECRET_KEY."


class CheckoutSerializer(serializers.Serializer):
    plan = serializers.CharField(max_length=50, help_text="A paid plan's name: pro, business.")


class BillingUrlSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe's page: send the customer's browser there.")


class CheckoutView(GenericAPIView):
    """Start an upgrade: a Stripe Checkout Session subscribing the account to the plan.
    Send the customer to `url`; the plan changes once Stripe tells us the payment went
    through (a webhook), within seconds."""

    serializer_class = CheckoutSerializer

    @extend_schema(
        request=CheckoutSerializer,
        responses={
            200: BillingUrlSerializer,
            400: error_doc("`unknown_plan`, `free_plan`, `plan_not_for_sale`."),
            403: error_doc(f"`insufficient_scope` (needs `admin`), or {LIVE_ONLY}"),
            409: error_doc(
                "`subscription_exists`: change plans in the billing portal (`details.portal_url`)."
            ),
            502: error_doc(STRIPE_DOWN),
            503: error_doc(NOT_CONFIGURED),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = services.start_checkout(
            request.account, serializer.validated_data["plan"], request=request._request
        )
        return Response({"url": url})


class PortalView(GenericAPIView):
    """A Stripe Billing Portal session: change card or plan, see invoices, cancel."""

    serializer_class = BillingUrlSerializer

    @extend_schema(
        request=None,
        responses={
            200: BillingUrlSerializer,
            403: error_doc(f"`insufficient_scope` (needs `admin`), or {LIVE_ONLY}"),
            409: error_doc("`no_stripe_customer`: no checkout has completed yet."),
            502: error_doc(STRIPE_DOWN),
            503: error_doc(NOT_CONFIGURED),
        },
    )
    def post(self, request: Request) -> Response:
        return Response({"url": services.open_portal(request.account, request._request)})


@csrf_exempt  # signed by Stripe, not by a browser session
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    body = read_capped(request, receiving.MAX_BODY_BYTES)
    if body is None:
        return too_large(receiving.MAX_BODY_BYTES)
    answer = receiving.receive(body, request.headers.get("Stripe-Signature"))
    return JsonResponse(answer.body, status=answer.status, headers=answer.headers)
