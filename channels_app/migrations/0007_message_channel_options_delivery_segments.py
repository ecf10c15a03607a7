"""Message.channel_options (/send's per-channel options, e.g. a WhatsApp template) and
Delivery.segments (the SMS segments a text is sent in)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0006_unique_callback_tokens")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="channel_options",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="delivery",
            name="segments",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
    ]
