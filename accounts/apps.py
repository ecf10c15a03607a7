from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_save, pre_delete

        # Registers the API-key scheme with drf-spectacular.
        from accounts import schema  # noqa: F401
        from accounts.environments import follow_plan
        from accounts.invitations import revoke_keys_on_cascade
        from accounts.models import Account, Membership

        pre_delete.connect(revoke_keys_on_cascade, sender=Membership)
        post_save.connect(follow_plan, sender=Account)
