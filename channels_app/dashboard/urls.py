from django.urls import path

from channels_app.dashboard import channels, contacts, magic, messages_pages, suppressions

urlpatterns = [
    path("channels/", channels.channel_list, name="dashboard-channels"),
    path("channels/<str:kind>/save/", channels.channel_save, name="dashboard-channel-save"),
    path("channels/<str:kind>/delete/", channels.channel_delete, name="dashboard-channel-delete"),
    path("channels/<str:kind>/test/", channels.channel_test, name="dashboard-channel-test"),
    path(
        "channels/test/<str:delivery_id>/",
        channels.channel_test_result,
        name="dashboard-channel-test-result",
    ),
    path("contacts/", contacts.contact_list, name="dashboard-contacts"),
    path("contacts/new/", contacts.contact_edit, name="dashboard-contact-new"),
    path("contacts/<str:contact_id>/", contacts.contact_edit, name="dashboard-contact-edit"),
    path(
        "contacts/<str:contact_id>/delete/",
        contacts.contact_delete,
        name="dashboard-contact-delete",
    ),
    path("messages/", messages_pages.message_list, name="dashboard-messages"),
    path("messages/<str:message_id>/", messages_pages.message_detail, name="dashboard-message"),
    path(
        "deliveries/<str:delivery_id>/retry/",
        messages_pages.delivery_retry,
        name="dashboard-delivery-retry",
    ),
    path("test-mode/recipients/", magic.magic_recipients, name="dashboard-magic-recipients"),
    path("suppressions/", suppressions.suppression_list, name="dashboard-suppressions"),
    path(
        "suppressions/<str:suppression_id>/lift/",
        suppressions.suppression_lift,
        name="dashboard-suppression-lift",
    ),
]
