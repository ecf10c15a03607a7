"""The contact pages. Saving goes through the API's serializer and channels_app.contacts
(oneping.apiforms), so its errors are the API's."""

from functools import partial

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Role, account_view
from channels_app import contacts
from channels_app.dashboard.forms import ContactForm
from channels_app.models import Contact
from channels_app.serializers import ContactSerializer
from oneping.pages import paginate


@account_view()
def contact_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, Contact.objects.filter(account=request.account))
    rows = [(contact, contacts.shown_addresses(contact.addresses)) for contact in page]
    return render(request, "channels_app/contacts.html", {"page": page, "rows": rows})


@account_view(Role.ADMIN)
def contact_edit(request: HttpRequest, contact_id: str | None = None) -> HttpResponse:
    contact = None
    if contact_id is not None:
        contact = get_object_or_404(Contact, pk=contact_id, account=request.account)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST":
        if contact is None:
            act = partial(contacts.create_contact, request.account)
        else:
            act = partial(contacts.update_contact, contact)
        saved = form.submit(ContactSerializer, contact, context={"request": request}, act=act)
        if saved is not None:
            messages.success(request, f"Saved contact {saved.identifier}.")
            return redirect("dashboard-contacts")
    return render(request, "channels_app/contact_form.html", {"form": form, "contact": contact})


@account_view(Role.ADMIN)
@require_POST
def contact_delete(request: HttpRequest, contact_id: str) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id, account=request.account)
    contacts.delete_contact(contact)
    messages.success(request, f"Deleted contact {contact.identifier}.")
    return redirect("dashboard-contacts")
