"""A callback token per channel, in three steps as Django's "migrations that add unique
fields" says: added empty (here), filled per row (0005), made unique (0006); one default
for all existing rows would collide.
https://docs.djangoproject.com/en/5.2/howto/writing-migrations/#migrations-that-add-unique-fields
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0003_kind_choices_from_the_registry")]

    operations = [
        migrations.AddField(
            model_name="channelconfig",
            name="callback_token",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
    ]
