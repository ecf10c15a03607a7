"""Endpoints made before rule modes keep firing one rule ("first") and get rule ids; the
message an old event made is listed as one of its messages."""

from django.core.management import call_command

from channels_app.models import Message
from webhooks.models import InboundEndpoint, InboundEvent

BEFORE = [("webhooks", "0004_verification_choices_from_the_scheme_registry")]
AFTER = [("webhooks", "0005_rule_modes_and_event_messages")]


def test_existing_endpoints_keep_the_first_rule_mode_and_get_rule_ids(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        plan, _ = old.get_model("accounts", "Plan").objects.get_or_create(
            name="free", defaults={"display_name": "Free", "monthly_quota": 100}
        )
        account = old.get_model("accounts", "Account").objects.create(
            id="acct_rules", name="Old", slug="old-rules", plan_id=plan.pk
        )
        endpoint = old.get_model("webhooks", "InboundEndpoint").objects.create(
            id="inb_old",
            account=account,
            name="old",
            verification="none",
            token="t",
            token_hash="h",
            rules=[
                {"event": "*", "message": "a", "channels": ["slack"], "recipient": "o"},
                {"event": "x", "message": "b", "channels": ["slack"], "recipient": "o"},
            ],
        )
        # channels_app stays migrated (only webhooks goes back): today's Message model.
        message = Message.objects.create(
            id="msg_old", account_id=account.pk, recipient="o", body="a", channels=["slack"]
        )
        old.get_model("webhooks", "InboundEvent").objects.create(
            id="iev_old",
            account=account,
            endpoint=endpoint,
            dedup_key="d",
            body=b"{}",
            status="processed",
            message_id=message.pk,
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        call_command("migrate", verbosity=0)  # whatever later migrations there are

    migrated = InboundEndpoint.objects.get(pk="inb_old")
    assert migrated.rule_mode == "first"
    ids = [rule["id"] for rule in migrated.rules]
    assert all(rule_id.startswith("rul_") for rule_id in ids) and len(set(ids)) == 2
    [made] = InboundEvent.objects.get(pk="iev_old").made.all()
    assert (made.rule_id, made.message_id) == ("", "msg_old")
