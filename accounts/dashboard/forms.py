from django import forms

from accounts import environments
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
    mode = forms.ChoiceField(
        choices=[
            (environments.LIVE, "Live: op_live_…, real messages to real recipients"),
            (environments.TEST, "Test: op_test_…, test data only, nothing reaches anyone"),
        ],
        initial=environments.LIVE,
        # Left out (a script posting the form): the mode the dashboard is in.
        required=False,
        widget=forms.RadioSelect,
        help_text="A test key works in the account's test environment: its messages go to "
        "the simulator and count against the test-mode daily cap, not the quota.",
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
