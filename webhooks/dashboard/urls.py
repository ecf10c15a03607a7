from django.urls import path

from webhooks.dashboard import endpoints, failed, inbound

urlpatterns = [
    path("webhooks/", endpoints.endpoint_list, name="dashboard-webhooks"),
    path("webhooks/new/", endpoints.endpoint_edit, name="dashboard-webhook-new"),
    path("webhooks/<str:endpoint_id>/", endpoints.endpoint_detail, name="dashboard-webhook"),
    path(
        "webhooks/<str:endpoint_id>/edit/",
        endpoints.endpoint_edit,
        name="dashboard-webhook-edit",
    ),
    path(
        "webhooks/<str:endpoint_id>/toggle/",
        endpoints.endpoint_toggle,
        name="dashboard-webhook-toggle",
    ),
    path(
        "webhooks/<str:endpoint_id>/delete/",
        endpoints.endpoint_delete,
        name="dashboard-webhook-delete",
    ),
    path(
        "webhooks/<str:endpoint_id>/secret/",
        endpoints.endpoint_secret,
        name="dashboard-webhook-secret",
    ),
    path(
        "webhooks/<str:endpoint_id>/rotate-secret/",
        endpoints.endpoint_rotate,
        name="dashboard-webhook-rotate",
    ),
    path(
        "webhooks/<str:endpoint_id>/test/", endpoints.endpoint_test, name="dashboard-webhook-test"
    ),
    path(
        "webhooks/<str:endpoint_id>/replay/",
        endpoints.endpoint_replay,
        name="dashboard-webhook-replay",
    ),
    path(
        "webhooks/<str:endpoint_id>/recover/",
        endpoints.endpoint_recover,
        name="dashboard-webhook-recover",
    ),
    path("inbound/", inbound.inbound_list, name="dashboard-inbound"),
    path("inbound/new/", inbound.inbound_create, name="dashboard-inbound-new"),
    path("inbound/<str:endpoint_id>/", inbound.inbound_detail, name="dashboard-inbound-endpoint"),
    path(
        "inbound/<str:endpoint_id>/edit/",
        inbound.inbound_edit,
        name="dashboard-inbound-edit",
    ),
    path(
        "inbound/<str:endpoint_id>/preview/",
        inbound.inbound_preview,
        name="dashboard-inbound-preview",
    ),
    path(
        "inbound/<str:endpoint_id>/toggle/",
        inbound.inbound_toggle,
        name="dashboard-inbound-toggle",
    ),
    path(
        "inbound/<str:endpoint_id>/delete/",
        inbound.inbound_delete,
        name="dashboard-inbound-delete",
    ),
    path(
        "inbound/<str:endpoint_id>/events/<str:event_id>/",
        inbound.inbound_event,
        name="dashboard-inbound-event",
    ),
    path("failed/", failed.failed_list, name="dashboard-failed"),
    path("failed/reprocess/", failed.failed_reprocess, name="dashboard-failed-reprocess"),
]
