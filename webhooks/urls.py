"""webhooks' pages outside /api/v1/ and the dashboard: where inbound webhooks are received."""

from django.urls import path

from webhooks.inbound.views import receive

urlpatterns = [
    path("hooks/in/<str:token>", receive, name="inbound-webhook"),
]
