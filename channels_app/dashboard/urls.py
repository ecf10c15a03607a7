from django.urls import path

from channels_app.dashboard import contacts

urlpatterns = [
    path("contacts/", contacts.contact_list, name="dashboard-contacts"),
    path("contacts/new/", contacts.contact_edit, name="dashboard-contact-new"),
    path("contacts/<str:contact_id>/", contacts.contact_edit, name="dashboard-contact-edit"),
    path(
        "contacts/<str:contact_id>/delete/",
        contacts.contact_delete,
        name="dashboard-contact-delete",
    ),
]
