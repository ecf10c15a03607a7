from django import forms

from accounts.invitations import INVITABLE_ROLES
from accounts.models import ApiKey, Membership
from accounts.scopes import ALL_SCOPES, DESCRIPTIONS, Scope


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        help_text="What uses this key, e.g. “production server”.",
    )
    scopes = forms.MultipleChoiceField(
        choices=[(scope.value, f"{scope.value}: {DESCRIPTIONS[scope]}") for scope in Scope],
        initial=list(ALL_SCOPES),
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do. A server that only sends needs just “send”.",
    )


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(
        choices=[(role.value, role.label) for role in INVITABLE_ROLES],
        initial=Membership.Role.MEMBER,
        help_text="Admins manage keys, channels, contacts and webhooks; members can look "
        "and send test messages. Promote to owner once they have joined.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
