from django import forms

from channels_app.contacts import clean_addresses
from channels_app.integrations.base import ConfigError
from channels_app.models import Contact

KEEP_CURRENT_HELP = "Leave empty to keep the current one."


class ContactForm(forms.Form):
    identifier = forms.CharField(
        max_length=255,
        help_text="What you send as `recipient`, e.g. an email or a user id.",
    )
    name = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)
    telegram = forms.CharField(required=False, help_text="A numeric chat id or @channel.")
    slack = forms.URLField(
        assume_scheme="https",
        required=False,
        help_text="A Slack incoming webhook URL for this contact.",
    )
    discord = forms.URLField(
        required=False, assume_scheme="https", help_text="A Discord webhook URL for this contact."
    )

    SECRET_FIELDS = ("slack", "discord")

    def __init__(self, *args, account, instance: Contact | None = None, **kwargs):
        self.account = account
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "identifier": instance.identifier,
                "name": instance.name,
                **{k: v for k, v in instance.addresses.items() if k not in self.SECRET_FIELDS},
            }
        super().__init__(*args, **kwargs)
        if instance is not None:
            for field in self.SECRET_FIELDS:
                if instance.addresses.get(field):
                    self.fields[
                        field
                    ].help_text = f"Set (…{instance.addresses[field][-4:]}). {KEEP_CURRENT_HELP}"

    def clean_identifier(self) -> str:
        identifier = self.cleaned_data["identifier"].strip()
        clash = Contact.objects.filter(account=self.account, identifier=identifier)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("A contact with this identifier already exists.")
        return identifier

    def clean(self) -> dict:
        data = super().clean()
        addresses = {
            kind: data.get(kind)
            for kind in ("email", "telegram", "slack", "discord")
            # An empty secret field keeps the stored value (omitted = unchanged).
            if not (kind in self.SECRET_FIELDS and not data.get(kind) and self.instance)
        }
        existing = self.instance.addresses if self.instance is not None else None
        try:
            data["addresses"] = clean_addresses(addresses, existing)
        except ConfigError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    def save(self) -> Contact:
        contact = self.instance or Contact(account=self.account)
        contact.identifier = self.cleaned_data["identifier"]
        contact.name = self.cleaned_data["name"]
        contact.addresses = self.cleaned_data["addresses"]
        contact.save()
        return contact
