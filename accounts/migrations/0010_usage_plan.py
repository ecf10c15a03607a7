from django.db import migrations, models


def fill_plans(apps, schema_editor):
    """Live months counted before these columns: the plan the account is on now (before
    issue #21 every account was on free, and plans changed only through the admin)."""
    MonthlyUsage = apps.get_model("accounts", "MonthlyUsage")
    for row in MonthlyUsage.objects.filter(account__livemode=True).select_related("account__plan"):
        row.plan_name = row.account.plan.name
        row.plan_limit = row.account.plan.monthly_quota
        row.save(update_fields=["plan_name", "plan_limit"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_billing"),
    ]

    operations = [
        migrations.AddField(
            model_name="monthlyusage",
            name="plan_name",
            field=models.CharField(blank=True, default="", db_default="", max_length=50),
        ),
        migrations.AddField(
            model_name="monthlyusage",
            name="plan_limit",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(fill_plans, migrations.RunPython.noop),
    ]
