"""Callback tokens unique, and a fresh one for each new channel (see 0004)."""

from django.db import migrations, models

import channels_app.models


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0005_fill_callback_tokens")]

    operations = [
        migrations.AlterField(
            model_name="channelconfig",
            name="callback_token",
            field=models.CharField(
                default=channels_app.models.new_callback_token,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
    ]
