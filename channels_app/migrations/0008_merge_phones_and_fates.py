"""Joins the two 0007s of issue #16: the phone kinds' fields (segments, channel options)
and the provider reports' (read status, fate wait, ProviderReport)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0007_delivery_fates_and_provider_reports"),
        ("channels_app", "0007_message_channel_options_delivery_segments"),
    ]

    operations = []
