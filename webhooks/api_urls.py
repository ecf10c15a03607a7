from django.urls import path
from rest_framework.routers import SimpleRouter

from webhooks.inbound.api import InboundEndpointViewSet, InboundEventViewSet, InboundPresetsView
from webhooks.views import EventViewSet, SigningSecretView, WebhookEndpointViewSet

router = SimpleRouter(trailing_slash="")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("events", EventViewSet, basename="event")
router.register("inbound-endpoints", InboundEndpointViewSet, basename="inbound-endpoint")
router.register("inbound-events", InboundEventViewSet, basename="inbound-event")

urlpatterns = [
    path("account/signing-secret", SigningSecretView.as_view(), name="api-signing-secret"),
    path("inbound-presets", InboundPresetsView.as_view(), name="api-inbound-presets"),
    *router.urls,
]
