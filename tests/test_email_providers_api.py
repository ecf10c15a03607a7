"""Email channel configs at the API's door (no worker: nothing is sent here): each
provider's shape, write-only secrets, from_email required for providers, switching provider,
the old shapes answered with their provider filled in, and the data migration that wrote
the provider into saved configs."""

import pytest
from django.core.management import call_command

from channels_app.models import ChannelConfig
from tests.fakes_email import (
    MAILGUN_CONFIG,
    MAILGUN_KEY,
    MAILGUN_SIGNING_KEY,
    POSTMARK_CONFIG,
    POSTMARK_TOKEN,
    RESEND_CONFIG,
    RESEND_KEY,
    RESEND_WEBHOOK_SECRET,
    SECRETS,
)

UNTRACKED = {"track_opens": False, "track_clicks": False}


def error_of(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def create(api, config: dict):
    return api.post_json("/api/v1/channels", {"kind": "email", "config": config})


def patch(api, channel: ChannelConfig, config: dict):
    return api.patch(f"/api/v1/channels/{channel.pk}", {"config": config}, "application/json")


# --- Each provider's shape ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "masked"),
    [
        (POSTMARK_CONFIG, {"server_token": f"…{POSTMARK_TOKEN[-4:]}"}),
        (
            MAILGUN_CONFIG,
            {
                "api_key": f"…{MAILGUN_KEY[-4:]}",
                "webhook_signing_key": f"…{MAILGUN_SIGNING_KEY[-4:]}",
            },
        ),
        (
            RESEND_CONFIG,
            {"api_key": f"…{RESEND_KEY[-4:]}", "webhook_secret": f"…{RESEND_WEBHOOK_SECRET[-4:]}"},
        ),
    ],
)
def test_a_provider_channel_is_created_with_its_secrets_masked(api, db, config, masked):
    created = create(api, config)

    assert created.status_code == 201, created.json()
    assert created.json()["config"] == {**config, **UNTRACKED, **masked}
    listed = api.get("/api/v1/channels").content.decode()
    assert not [secret for secret in SECRETS if secret in created.content.decode() + listed]
    assert ChannelConfig.objects.get().config == {**config, **UNTRACKED}  # whole, encrypted


def test_mailguns_region_defaults_to_us_and_its_signing_key_may_come_later(api, db):
    config = {k: v for k, v in MAILGUN_CONFIG.items() if k not in ("region", "webhook_signing_key")}

    created = create(api, {**config, "sender_domain": " MG.Acme.test "})

    assert created.status_code == 201, created.json()
    saved = ChannelConfig.objects.get().config
    assert (saved["region"], saved["sender_domain"]) == ("us", "mg.acme.test")
    assert saved["webhook_signing_key"] == ""


def test_tracking_flags_are_kept_for_postmark_and_mailgun(api, db):
    created = create(api, {**POSTMARK_CONFIG, "track_opens": True, "track_clicks": True})

    assert created.status_code == 201, created.json()
    assert ChannelConfig.objects.get().config["track_opens"] is True


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"provider": "postmark", "from_email": "a@acme.test"}, "server_token", "server token"),
        ({**POSTMARK_CONFIG, "server_token": "  "}, "server_token", "server token"),
        ({k: v for k, v in POSTMARK_CONFIG.items() if k != "from_email"}, "from_email", "verified"),
        ({**POSTMARK_CONFIG, "from_email": "alerts"}, "from_email", "valid email"),
        ({**POSTMARK_CONFIG, "api_key": "x"}, "api_key", "Unknown field: the postmark provider"),
        ({**POSTMARK_CONFIG, "track_opens": "yes"}, "track_opens", "true or false"),
        ({k: v for k, v in MAILGUN_CONFIG.items() if k != "from_email"}, "from_email", None),
        ({**MAILGUN_CONFIG, "region": "ap"}, "region", '"us" or "eu"'),
        ({**MAILGUN_CONFIG, "sender_domain": "mg.acme.test/x"}, "sender_domain", "sending domain"),
        ({**MAILGUN_CONFIG, "api_key": 42}, "api_key", "Mailgun API key"),
        ({**MAILGUN_CONFIG, "webhook_signing_key": 42}, "webhook_signing_key", "string"),
        ({**RESEND_CONFIG, "api_key": ""}, "api_key", "Resend API key"),
        ({**RESEND_CONFIG, "track_opens": True}, "track_opens", "your domain in Resend"),
        ({**RESEND_CONFIG, "track_clicks": True}, "track_clicks", "your domain in Resend"),
        ({**RESEND_CONFIG, "sender_domain": "x"}, "sender_domain", "Unknown field"),
        ({**RESEND_CONFIG, "provider": "sendgrid"}, "provider", "'postmark'"),
        ({"provider": "smtp"}, "host", "SMTP server"),
    ],
)
def test_bad_configs_name_the_field(api, db, config, field, words):
    error = error_of(create(api, config))

    assert error["code"] == "invalid_config"
    assert error["message"].startswith(f"config.{field}: ")
    assert list(error["details"]["fields"]["config"]) == [field]
    if words:
        assert words in error["message"]
    assert not [secret for secret in SECRETS if secret in error["message"]]
    assert not ChannelConfig.objects.exists()


def test_updating_without_the_secrets_keeps_them(api, account):
    channel = ChannelConfig.objects.create(account=account, kind="email", config=MAILGUN_CONFIG)
    without = {
        k: v for k, v in MAILGUN_CONFIG.items() if k not in ("api_key", "webhook_signing_key")
    }

    response = patch(api, channel, {**without, "from_email": "ops@mg.acme.test"})

    assert response.status_code == 200, response.json()
    channel.refresh_from_db()
    assert channel.config == {**MAILGUN_CONFIG, **UNTRACKED, "from_email": "ops@mg.acme.test"}


@pytest.mark.parametrize("change", [{"sender_domain": "mg.other.test"}, {"region": "eu"}])
def test_moving_the_mailgun_key_without_sending_it_is_refused(api, account, change):
    channel = ChannelConfig.objects.create(account=account, kind="email", config=MAILGUN_CONFIG)
    without = {k: v for k, v in MAILGUN_CONFIG.items() if k != "api_key"}

    error = error_of(patch(api, channel, {**without, **change}))

    assert error["code"] == "secret_required"
    assert list(error["details"]["fields"]["config"]) == ["api_key"]
    channel.refresh_from_db()
    assert channel.config == MAILGUN_CONFIG


def test_switching_mailgun_to_resend_needs_resends_key(api, account):
    channel = ChannelConfig.objects.create(account=account, kind="email", config=MAILGUN_CONFIG)
    # The Mailgun key is not handed to Resend.
    half = {k: v for k, v in RESEND_CONFIG.items() if k != "api_key"}

    error = error_of(patch(api, channel, half))

    assert error["code"] == "secret_required"
    assert list(error["details"]["fields"]["config"]) == ["api_key"]
    assert MAILGUN_KEY not in str(error)
    channel.refresh_from_db()
    assert channel.config == MAILGUN_CONFIG

    response = patch(api, channel, RESEND_CONFIG)

    assert response.status_code == 200, response.json()
    channel.refresh_from_db()
    # Mailgun's fields and secrets are gone with it.
    assert channel.config == {**RESEND_CONFIG, **UNTRACKED}


# --- The old shapes ------------------------------------------------------------------------


def test_an_empty_config_is_the_platforms_mail(api, db):
    created = create(api, {})

    assert created.status_code == 201, created.json()
    assert created.json()["config"] == {"provider": "platform", **UNTRACKED}


def test_smtp_fields_without_a_provider_are_an_smtp_server(api, db, smtp):
    config = {
        "host": smtp.host,
        "port": smtp.port,
        "username": "alerts",
        "password": "smtp-pa55word",
        "use_tls": False,
        "from_email": "alerts@acme.test",
    }

    created = create(api, config)

    assert created.status_code == 201, created.json()
    assert created.json()["config"] == {
        "provider": "smtp",
        **config,
        "password": "…word",
        "use_ssl": False,
        **UNTRACKED,
    }


def test_the_platform_takes_no_smtp_fields(api, db):
    error = error_of(create(api, {"provider": "platform", "from_email": "a@acme.test"}))

    assert error["message"].startswith("config.from_email: Unknown field: the platform provider")


# --- Migration 0011 ------------------------------------------------------------------------

BEFORE = [("channels_app", "0010_report_bounce_type")]
AFTER = [("channels_app", "0011_email_provider_in_config")]
OLD_SMTP = {
    "host": "smtp.acme.test",
    "port": 587,
    "username": "alerts",
    "password": "smtp-pa55word",
    "use_tls": True,
    "use_ssl": False,
    "from_email": "alerts@acme.test",
}


def _migrate(target):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return MigrationExecutor(connection).loader.project_state(target).apps


def _raw_configs() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM channels_app_channelconfig")
        return [row[0] for row in cursor.fetchall()]


def test_the_migration_writes_the_provider_into_old_configs_and_back(transactional_db):
    old = _migrate(BEFORE)
    try:
        account = old.get_model("accounts", "Account").objects.create(
            id="acct_migration", name="Old", slug="old", plan_id=_free_plan_id(old)
        )
        configs = old.get_model("channels_app", "ChannelConfig").objects
        configs.create(id="chn_platform", account=account, kind="email", config={})
        other = old.get_model("accounts", "Account").objects.create(
            id="acct_migration2", name="Old 2", slug="old-2", plan_id=_free_plan_id(old)
        )
        configs.create(id="chn_smtp", account=other, kind="email", config=OLD_SMTP)
        third = old.get_model("accounts", "Account").objects.create(
            id="acct_migration3", name="Old 3", slug="old-3", plan_id=_free_plan_id(old)
        )
        configs.create(id="chn_slack", account=third, kind="slack", config={"webhook_url": "x"})

        # The models as of AFTER: today's ChannelConfig has columns added later.
        configs_after = _migrate(AFTER).get_model("channels_app", "ChannelConfig").objects

        assert configs_after.get(pk="chn_platform").config == {
            "provider": "platform",
            **UNTRACKED,
        }
        assert configs_after.get(pk="chn_smtp").config == {
            "provider": "smtp",
            **OLD_SMTP,
            **UNTRACKED,
        }
        assert configs_after.get(pk="chn_slack").config == {"webhook_url": "x"}
        # Still encrypted at rest: nothing of the configs in clear in the column.
        raw = " ".join(_raw_configs())
        assert "smtp-pa55word" not in raw and "platform" not in raw

        # Backwards: the old shapes again (a provider config, which has none, is left as is).
        configs_after.filter(pk="chn_slack").delete()
        _migrate(BEFORE)
        migrated_back = {
            channel.pk: channel.config
            for channel in old.get_model("channels_app", "ChannelConfig").objects.all()
        }
        assert migrated_back == {"chn_platform": {}, "chn_smtp": OLD_SMTP}
        assert "smtp-pa55word" not in " ".join(_raw_configs())
    finally:
        call_command("migrate", verbosity=0)


def test_the_migration_leaves_provider_configs_alone_both_ways(transactional_db, account):
    ChannelConfig.objects.create(account=account, kind="email", config=POSTMARK_CONFIG)
    try:
        _migrate(BEFORE)
        _migrate(AFTER)
    finally:
        call_command("migrate", verbosity=0)

    assert ChannelConfig.objects.get().config == POSTMARK_CONFIG


def _free_plan_id(apps) -> int:
    plan, _ = apps.get_model("accounts", "Plan").objects.get_or_create(
        name="free", defaults={"display_name": "Free", "monthly_quota": 100}
    )
    return plan.pk
