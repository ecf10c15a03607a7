from django.apps import AppConfig


class OnepingConfig(AppConfig):
    name = "oneping"
    verbose_name = "oneping platform"
