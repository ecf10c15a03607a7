"""Email configs name their provider (issue #17): `{}` was the platform's mail, a config
with `host` an SMTP server. Configs are encrypted: each is read and saved through the model
field, which decrypts and encrypts."""

from django.db import migrations


def add_provider(apps, schema_editor):
    ChannelConfig = apps.get_model("channels_app", "ChannelConfig")
    for channel in ChannelConfig.objects.filter(kind="email").iterator():
        config = dict(channel.config or {})
        if config.get("provider"):
            continue
        config["provider"] = "smtp" if config.get("host") else "platform"
        config.setdefault("track_opens", False)
        config.setdefault("track_clicks", False)
        ChannelConfig.objects.filter(pk=channel.pk).update(config=config)


def remove_provider(apps, schema_editor):
    ChannelConfig = apps.get_model("channels_app", "ChannelConfig")
    for channel in ChannelConfig.objects.filter(kind="email").iterator():
        config = dict(channel.config or {})
        if config.get("provider") not in ("smtp", "platform"):
            continue  # a provider config has no older shape
        for field in ("provider", "track_opens", "track_clicks"):
            config.pop(field, None)
        ChannelConfig.objects.filter(pk=channel.pk).update(config=config)


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0010_report_bounce_type")]

    operations = [migrations.RunPython(add_provider, remove_provider)]
