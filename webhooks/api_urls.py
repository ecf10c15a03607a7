from django.urls import path
from rest_framework.routers import SimpleRouter

from webhooks.views import EventViewSet, SigningSecretView, WebhookEndpointViewSet

router = SimpleRouter(trailing_slash="")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    path("account/signing-secret", SigningSecretView.as_view(), name="api-signing-secret"),
    *router.urls,
]
