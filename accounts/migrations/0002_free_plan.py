from django.db import migrations


def create_free_plan(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    Plan.objects.update_or_create(
        name="free", defaults={"display_name": "Free", "monthly_quota": 100}
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_free_plan, migrations.RunPython.noop)]
