from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from channels_app.dashboard.overview import overview
from channels_app.views import SendAliasView
from oneping.health import healthz
from oneping.scrape import metrics
from webhooks.inbound.views import receive as receive_inbound_webhook

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("channels_app.api_urls")),
    path("", include("webhooks.api_urls")),
]

# The admin's own login form counts no failures: send staff through allauth's login, which
# throttles failed attempts per IP and per address (ACCOUNT_RATE_LIMITS' login_failed).
# https://docs.allauth.org/en/latest/common/admin.html
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", overview, name="overview"),
    path("healthz", healthz, name="healthz"),
    # Prometheus' scrape target, behind METRICS_TOKEN (404 when unset).
    path("metrics", metrics, name="metrics"),
    # One-Ping-compatible alias of /api/v1/send; the API middleware gives it the same errors.
    path("send", SendAliasView.as_view(), name="send-alias"),
    path("api/v1/", include(api_v1)),
    path("hooks/in/<str:token>", receive_inbound_webhook, name="inbound-webhook"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.dashboard.urls")),
    path("", include("channels_app.dashboard.urls")),
    path("", include("webhooks.dashboard.urls")),
    path("admin/", admin.site.urls),
]
