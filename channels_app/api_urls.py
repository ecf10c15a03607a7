from django.urls import path
from rest_framework.routers import SimpleRouter

from channels_app.suppression_api import SuppressionViewSet
from channels_app.usage_api import UsageView
from channels_app.views import (
    BatchSendView,
    ChannelViewSet,
    ContactViewSet,
    DeliveryViewSet,
    MessageViewSet,
    SendView,
)

router = SimpleRouter(trailing_slash="")
router.register("channels", ChannelViewSet, basename="channel")
router.register("contacts", ContactViewSet, basename="contact")
router.register("messages", MessageViewSet, basename="message")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("suppressions", SuppressionViewSet, basename="suppression")

urlpatterns = [
    path("send", SendView.as_view(), name="api-send"),
    path("send/batch", BatchSendView.as_view(), name="api-send-batch"),
    path("usage", UsageView.as_view(), name="api-usage"),
    *router.urls,
]
