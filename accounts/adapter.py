from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # Sign-up makes the person and their tenant together, or neither.
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                account = services.create_account(owner=user)
                if request is not None and hasattr(request, "session"):
                    request.session["account_id"] = account.pk
        return user
