"""The contact form: identifier, name, and one address field per registered kind (each
declared by its integration). It only parses; ContactSerializer (the API's) validates and
the view hands the result to channels_app.contacts (oneping.apiforms)."""

import copy
from typing import Any

from django import forms

from channels_app.integrations import channel_kinds, get_integration
from channels_app.models import Contact
from oneping.apiforms import ApiForm
from oneping.crypto import mask

KEEP_CURRENT_HELP = "Leave empty to keep the current one."


class ContactForm(ApiForm):
    identifier = forms.CharField(
        max_length=255,
        help_text="What you send as `recipient`, e.g. an email or a user id.",
    )
    name = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, instance: Contact | None = None, **kwargs):
        self.instance = instance
        self.secret_kinds = [k for k in channel_kinds() if get_integration(k).address_is_secret]
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "identifier": instance.identifier,
                "name": instance.name,
                **{k: v for k, v in instance.addresses.items() if k not in self.secret_kinds},
            }
        super().__init__(*args, **kwargs)
        for kind in channel_kinds():  # after identifier and name, in the registry's order
            self.fields[kind] = copy.deepcopy(get_integration(kind).contact_field)
        for kind in self.secret_kinds:
            if instance is not None and instance.addresses.get(kind):
                self.fields[
                    kind
                ].help_text = f"Set ({mask(instance.addresses[kind])}). {KEEP_CURRENT_HELP}"

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        addresses = {
            kind: data.get(kind)
            for kind in channel_kinds()
            # An empty secret field keeps the stored value (omitted = unchanged).
            if not (kind in self.secret_kinds and not data.get(kind) and self.instance)
        }
        return {"identifier": data["identifier"], "name": data["name"], "addresses": addresses}
