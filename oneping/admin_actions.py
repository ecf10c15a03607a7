"""Admin actions ask for the change permission, including those of third-party apps.

An action without `allowed_permissions` is offered to every staff user who may view the
list (https://docs.djangoproject.com/en/5.2/ref/contrib/admin/actions/#setting-permissions-for-actions),
so a view-only staff user could reprocess, enable or revoke. Ours declare it
(`@admin.action(permissions=["change"])`); django-celery-beat's task toggles and "run" and
allauth's "mark verified" do not, so they are given the same requirement at startup.
"""

from django.contrib.admin import AdminSite


def require_change_permission(site: AdminSite) -> list[str]:
    """Give every registered action without a permission the "change" one; returns them."""
    guarded = []
    for model, model_admin in site._registry.items():
        for action in model_admin.actions or ():
            name = action if isinstance(action, str) else action.__name__
            func = getattr(type(model_admin), name, None) if isinstance(action, str) else action
            if func is not None and not getattr(func, "allowed_permissions", None):
                func.allowed_permissions = ("change",)
                guarded.append(f"{model._meta.label}.{name}")
    return guarded
