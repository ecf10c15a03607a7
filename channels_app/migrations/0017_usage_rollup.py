import django.db.models.deletion
from django.db import migrations, models


def build_rollup(apps, schema_editor):
    """Count the deliveries already in the log, so the usage history is right at once."""
    # The counting rule itself (channels_app.rollup), with this migration's models: the
    # rollup must hold what the code that keeps it up to date would have written.
    from channels_app.rollup import rebuild

    rebuild(
        apps.get_model("channels_app", "Delivery"), apps.get_model("channels_app", "UsageRollup")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_usage_plan"),
        ("channels_app", "0016_channelconfig_simulated"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsageRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("channel", models.CharField(max_length=20)),
                ("status", models.CharField(max_length=20)),
                ("count", models.IntegerField(default=0)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.account",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "month", "channel", "status"),
                        name="one_rollup_per_key",
                    )
                ],
            },
        ),
        migrations.RunPython(build_rollup, migrations.RunPython.noop),
    ]
