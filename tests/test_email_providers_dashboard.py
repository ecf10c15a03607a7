"""The email channel on the dashboard: a provider choice and each provider's fields, saved
through the API's rules (the chosen provider's fields only), secrets kept when left empty
and never shown. (In a browser, with the fields shown per provider:
tests/browser/test_email_providers.py.)"""

from channels_app.models import ChannelConfig
from tests.fakes_email import (
    MAILGUN_CONFIG,
    MAILGUN_KEY,
    MAILGUN_SIGNING_KEY,
    POSTMARK_CONFIG,
    RESEND_CONFIG,
)

UNTRACKED = {"track_opens": False, "track_clicks": False}


def form_data(values: dict) -> dict:
    return {f"email-{key}": value for key, value in values.items()}


def test_the_email_card_offers_each_provider_and_its_fields(owner_client):
    page = owner_client.get("/channels/").content.decode()

    for provider in ("platform", "smtp", "postmark", "mailgun", "resend"):
        assert f'<option value="{provider}"' in page
    assert 'data-provider-select=""' in page
    for field, providers in [
        ("host", "smtp"),
        ("server_token", "postmark"),
        ("api_key", "mailgun resend"),
        ("sender_domain", "mailgun"),
        ("webhook_signing_key", "mailgun"),
        ("webhook_secret", "resend"),
        ("from_email", "smtp postmark mailgun resend"),
    ]:
        assert f'name="email-{field}"' in page
        assert f'data-provider="{providers}"' in page
    assert 'name="email-track_opens"' in page and 'name="email-track_clicks"' in page
    # The setup steps, from the integration.
    assert "<em>Servers → your server → API Tokens</em>" in page


def test_saving_postmark_keeps_only_postmarks_fields(owner_client, account):
    values = {**POSTMARK_CONFIG, "host": "smtp.left-over.test", "api_key": "left-over"}

    response = owner_client.post("/channels/email/save/", form_data(values | {"track_opens": "on"}))

    assert response.status_code == 302
    saved = ChannelConfig.objects.get(kind="email").config
    assert saved == {**POSTMARK_CONFIG, "track_opens": True, "track_clicks": False}


def test_a_saved_provider_is_chosen_and_its_secrets_never_shown(owner_client, account):
    ChannelConfig.objects.create(account=account, kind="email", config=MAILGUN_CONFIG)

    page = owner_client.get("/channels/").content.decode()

    assert '<option value="mailgun" selected>' in page
    assert MAILGUN_KEY not in page and MAILGUN_SIGNING_KEY not in page
    assert f"Saved (…{MAILGUN_KEY[-4:]})" in page


def test_updating_mailgun_keeps_secrets_left_empty(owner_client, account):
    channel = ChannelConfig.objects.create(account=account, kind="email", config=MAILGUN_CONFIG)
    values = {
        k: v for k, v in MAILGUN_CONFIG.items() if k not in ("api_key", "webhook_signing_key")
    }

    response = owner_client.post(
        "/channels/email/save/", form_data({**values, "from_email": "ops@mg.acme.test"})
    )

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.config == {**MAILGUN_CONFIG, **UNTRACKED, "from_email": "ops@mg.acme.test"}


def test_switching_to_resend_without_its_key_is_refused_on_the_key(owner_client, account):
    channel = ChannelConfig.objects.create(account=account, kind="email", config=MAILGUN_CONFIG)
    values = {k: v for k, v in RESEND_CONFIG.items() if k != "api_key"}

    response = owner_client.post("/channels/email/save/", form_data(values))

    assert response.status_code == 400
    page = response.content.decode()
    assert "Send the api_key again" in page
    assert MAILGUN_KEY not in page
    channel.refresh_from_db()
    assert channel.config == MAILGUN_CONFIG


def test_resend_tracking_boxes_get_resends_answer(owner_client, account):
    response = owner_client.post(
        "/channels/email/save/", form_data({**RESEND_CONFIG, "track_clicks": "on"})
    )

    assert response.status_code == 400
    assert "your domain in Resend" in response.content.decode()
    assert not ChannelConfig.objects.exists()


def test_an_older_form_without_a_provider_still_saves_smtp_or_the_platform(
    owner_client, account, smtp
):
    response = owner_client.post(
        "/channels/email/save/",
        form_data(
            {"host": smtp.host, "port": smtp.port, "security": "none", "from_email": "a@acme.test"}
        ),
    )
    assert response.status_code == 302
    assert ChannelConfig.objects.get(kind="email").config["provider"] == "smtp"

    response = owner_client.post("/channels/email/save/", form_data({"host": ""}))

    assert response.status_code == 302
    assert ChannelConfig.objects.get(kind="email").config == {"provider": "platform", **UNTRACKED}


def test_the_card_summary_says_what_is_set(owner_client, account):
    channel = ChannelConfig.objects.create(
        account=account, kind="email", config={"provider": "platform", **UNTRACKED}
    )

    page = owner_client.get("/channels/").content.decode()
    assert "Uses oneping's own mail settings." in page
    assert "track_opens</code> False" not in page

    channel.config = {**POSTMARK_CONFIG, "track_opens": True, "track_clicks": False}
    channel.save()
    page = owner_client.get("/channels/").content.decode()
    # Flags that are on are listed, flags that are off say nothing; the token is masked.
    assert "<code>track_opens</code> True" in page
    assert "<code>track_clicks</code>" not in page
    assert POSTMARK_CONFIG["server_token"] not in page
