from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.billing.views import CheckoutView, PortalView
from accounts.views import AccountView, ApiKeyViewSet, PlansView

router = SimpleRouter(trailing_slash="")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [
    path("account", AccountView.as_view(), name="api-account"),
    path("plans", PlansView.as_view(), name="api-plans"),
    path("billing/checkout", CheckoutView.as_view(), name="api-billing-checkout"),
    path("billing/portal", PortalView.as_view(), name="api-billing-portal"),
    *router.urls,
]
