from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from oneping.health import healthz
from oneping.scrape import metrics

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
    path("healthz", healthz, name="healthz"),
    # Prometheus' scrape target, behind METRICS_TOKEN (404 when unset).
    path("metrics", metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
    # Each app's own pages outside the API and the dashboard (the home page and the /send
    # alias; inbound webhooks), ahead of the dashboards as they are the busier ones.
    path("", include("channels_app.urls")),
    path("", include("webhooks.urls")),
    # Stripe's billing webhook (accounts/billing/).
    path("", include("accounts.billing.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.dashboard.urls")),
    path("", include("channels_app.dashboard.urls")),
    path("", include("webhooks.dashboard.urls")),
    path("admin/", admin.site.urls),
]
