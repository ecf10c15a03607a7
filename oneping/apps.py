from django.apps import AppConfig


class OnepingConfig(AppConfig):
    name = "oneping"
    verbose_name = "oneping platform"

    def ready(self) -> None:
        # After the admin's autodiscover (django.contrib.admin comes first in INSTALLED_APPS).
        from django.contrib import admin

        from oneping.admin_actions import require_change_permission

        require_change_permission(admin.site)
