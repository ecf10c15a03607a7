"""channels_app's pages outside /api/v1/ and the dashboard: the home page, the /send alias
where providers report delivery statuses, and the open and click tracking URLs."""

from django.urls import path

from channels_app.callbacks.views import provider_callback
from channels_app.dashboard.overview import overview
from channels_app.tracking.views import click, open_pixel
from channels_app.views import BatchSendAliasView, SendAliasView

urlpatterns = [
    path("", overview, name="overview"),
    # One-Ping-compatible alias of /api/v1/send; the API middleware gives it the same errors.
    path("send", SendAliasView.as_view(), name="send-alias"),
    path("send/batch", BatchSendAliasView.as_view(), name="send-batch-alias"),
    # channels_app.models.callback_path builds these URLs.
    path(
        "hooks/providers/<str:provider>/<str:token>/",
        provider_callback,
        name="provider-callback",
    ),
    # oneping's own open pixel and click-through links in SMTP mail (channels_app.tracking).
    path("t/o/<str:token>", open_pixel, name="tracking-open"),
    path("t/c/<str:token>", click, name="tracking-click"),
]
