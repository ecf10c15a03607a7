from django.conf import settings
from django.db import migrations, models

ALL_SCOPES = ["send", "read", "admin"]


def existing_keys_keep_every_scope(apps, schema_editor):
    # Keys made before scopes existed could do everything; they keep doing so. New keys
    # default to none at the model level (fail closed) and get theirs from issue_key.
    apps.get_model("accounts", "ApiKey").objects.update(scopes=ALL_SCOPES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_plan_api_rate"),
    ]

    operations = [
        migrations.RenameField(
            model_name="apikey", old_name="created_by", new_name="created_by_user"
        ),
        migrations.AlterField(
            model_name="apikey",
            name="created_by_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="created_api_keys",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="created_by_key",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="minted_keys",
                to="accounts.apikey",
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="scopes",
            field=models.JSONField(default=list, help_text="Any of send, read, admin."),
        ),
        migrations.RunPython(existing_keys_keep_every_scope, migrations.RunPython.noop),
    ]
