"""channels_app's pages outside /api/v1/ and the dashboard: the home page, the /send alias
and where providers report delivery statuses."""

from django.urls import path

from channels_app.callbacks.views import provider_callback
from channels_app.dashboard.overview import overview
from channels_app.views import SendAliasView

urlpatterns = [
    path("", overview, name="overview"),
    # One-Ping-compatible alias of /api/v1/send; the API middleware gives it the same errors.
    path("send", SendAliasView.as_view(), name="send-alias"),
    # channels_app.models.callback_path builds these URLs.
    path(
        "hooks/providers/<str:provider>/<str:token>/",
        provider_callback,
        name="provider-callback",
    ),
]
