from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        # Registers the API-key scheme with drf-spectacular.
        from accounts import schema  # noqa: F401
        from accounts.invitations import revoke_keys_on_cascade
        from accounts.models import Membership

        pre_delete.connect(revoke_keys_on_cascade, sender=Membership)
