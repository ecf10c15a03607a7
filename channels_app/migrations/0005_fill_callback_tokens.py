"""Fill each existing channel's callback token (see 0004)."""

from django.db import migrations

import channels_app.models


def fill_tokens(apps, schema_editor):
    ChannelConfig = apps.get_model("channels_app", "ChannelConfig")
    for pk in ChannelConfig.objects.filter(callback_token="").values_list("pk", flat=True):
        ChannelConfig.objects.filter(pk=pk).update(
            callback_token=channels_app.models.new_callback_token()
        )


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0004_channelconfig_callback_token")]

    operations = [migrations.RunPython(fill_tokens, migrations.RunPython.noop)]
