"""Issue #17's one state machine: the `complained` delivery status, and the report kinds a
provider may send (email's delivered, opened, clicked, deferred, bounced, complained next to
the phones' sent, delivered, read, failed). Choices only: no column changes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0008_merge_phones_and_fates"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="status",
            field=models.CharField(
                choices=[
                    ("standby", "Standby (fallback)"),
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("retrying", "Retrying"),
                    ("sent", "Sent"),
                    ("delivered", "Delivered"),
                    ("read", "Read"),
                    ("failed", "Failed"),
                    ("bounced", "Bounced"),
                    ("complained", "Complained"),
                    ("opened", "Opened"),
                    ("clicked", "Clicked"),
                    ("skipped", "Skipped (fallback not needed)"),
                ],
                default="queued",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="providerreport",
            name="reported_status",
            field=models.CharField(
                choices=[
                    ("sent", "Sent"),
                    ("delivered", "Delivered"),
                    ("read", "Read"),
                    ("opened", "Opened"),
                    ("clicked", "Clicked"),
                    ("deferred", "Deferred"),
                    ("failed", "Failed"),
                    ("bounced", "Bounced"),
                    ("complained", "Complained"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="timelineentry",
            name="status",
            field=models.CharField(
                choices=[
                    ("standby", "Standby (fallback)"),
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("retrying", "Retrying"),
                    ("sent", "Sent"),
                    ("delivered", "Delivered"),
                    ("read", "Read"),
                    ("failed", "Failed"),
                    ("bounced", "Bounced"),
                    ("complained", "Complained"),
                    ("opened", "Opened"),
                    ("clicked", "Clicked"),
                    ("skipped", "Skipped (fallback not needed)"),
                ],
                max_length=20,
            ),
        ),
    ]
