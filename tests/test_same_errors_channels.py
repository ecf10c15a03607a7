"""The API and the dashboard answer the same bad input to each channel and contact action
with the same error: code, message, and the field it is about (issue #15).

The dashboard parses its form into what the API would have been sent and lets the API's
serializer judge it (oneping/apiforms.py); these tests feed both the same values.
"""

import pytest
from django.contrib.messages import get_messages

from channels_app.models import ChannelConfig, Contact, Message
from tests.conftest import TELEGRAM_TOKEN
from tests.fakes_phones import SMS_CONFIG, WHATSAPP_META_CONFIG, WHATSAPP_TWILIO_CONFIG

SLACK_URL = "https://hooks.slack.com/services/T0/B0/secretpart"
LONG = "x" * 256
STORED_SMTP = {
    "host": "127.0.0.1",
    "port": 2525,
    "username": "alerts",
    "password": "smtp-pa55word-xyz",
    "use_tls": False,
    "use_ssl": False,
    "from_email": "alerts@acme.test",
}
# The email form's fields for STORED_SMTP, its password left empty ("keep the saved one").
SMTP_FORM = {"host": "127.0.0.1", "port": "2525", "username": "alerts", "security": "none"}
SMTP_FORM |= {"from_email": "alerts@acme.test"}


@pytest.fixture
def dashboard(owner_client):
    return owner_client


def api_error(response) -> tuple[str, str, str]:
    """(field path, code, text) of an API error: "config.port: Enter …" names config.port."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    path, _, text = error["message"].partition(": ")
    return path, error["code"], text


def form_errors(form) -> list[tuple[str | None, str, str]]:
    """(field or None above the form, code, text) of each error a dashboard form shows."""
    return [
        (None if field == "__all__" else field, error.code, error.message)
        for field, errors in form.errors.as_data().items()
        for error in errors
    ]


def bound_channel_form(response):
    assert response.status_code == 400, response.content
    [form] = [card["form"] for card in response.context["cards"] if card["form"].is_bound]
    return form


# --- Channels: create and update -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "form", "field"),
    [
        ("telegram", {"bot_token": "nope"}, {"bot_token": "nope"}, "bot_token"),
        # The dashboard used to say "This field is required." here.
        ("telegram", {"bot_token": ""}, {"bot_token": ""}, "bot_token"),
        (
            "telegram",
            {"bot_token": TELEGRAM_TOKEN, "default_chat_id": "me"},
            {"bot_token": TELEGRAM_TOKEN, "default_chat_id": "me"},
            None,  # the API names the chat id "config.telegram": no such form field
        ),
        ("slack", {"webhook_url": ""}, {"webhook_url": ""}, "webhook_url"),
        (
            "slack",
            {"webhook_url": "ftp://hooks.slack.com/x"},
            {"webhook_url": "ftp://x.y/z"},
            "webhook_url",
        ),
        (
            "discord",
            {"webhook_url": "javascript:alert(1)"},
            {"webhook_url": "javascript:alert(1)"},
            "webhook_url",
        ),
        (
            "email",
            {"host": "smtp.example.com", "port": 70000, "use_tls": True},
            {"host": "smtp.example.com", "port": "70000", "security": "starttls"},
            "port",  # the dashboard used to say "Ensure this value is less than or equal to 65535."
        ),
        (
            "email",
            {"host": "smtp.example.com", "port": "abc", "use_tls": True},
            {"host": "smtp.example.com", "port": "abc", "security": "starttls"},
            "port",  # the dashboard used to say "Enter a whole number."
        ),
        (
            "email",
            {"host": "smtp.example.com", "from_email": "nope", "use_tls": True},
            {"host": "smtp.example.com", "from_email": "nope", "security": "starttls"},
            "from_email",
        ),
        ("sms", {**SMS_CONFIG, "from": "+1 415"}, {**SMS_CONFIG, "from": "+1 415"}, "from"),
        (
            "sms",
            {**SMS_CONFIG, "account_sid": "AC1"},
            {**SMS_CONFIG, "account_sid": "AC1"},
            "account_sid",
        ),
        (
            "whatsapp",
            {**WHATSAPP_META_CONFIG, "app_secret": "nope"},
            {**WHATSAPP_META_CONFIG, "app_secret": "nope"},
            "app_secret",
        ),
        (
            "whatsapp",
            {k: v for k, v in WHATSAPP_TWILIO_CONFIG.items() if k != "auth_token"},
            {k: v for k, v in WHATSAPP_TWILIO_CONFIG.items() if k != "auth_token"},
            "auth_token",
        ),
        ("whatsapp", {"provider": "signal"}, {"provider": "signal"}, "provider"),
    ],
)
def test_creating_a_channel_with_a_bad_config(api, dashboard, kind, config, form, field):
    path, code, text = api_error(
        api.post_json("/api/v1/channels", {"kind": kind, "config": config})
    )
    shown = dashboard.post(f"/channels/{kind}/save/", {f"{kind}-{k}": v for k, v in form.items()})

    assert form_errors(bound_channel_form(shown)) == [(field, code, text)]
    assert path.startswith("config.")
    assert not ChannelConfig.objects.exists()


def test_creating_a_slack_channel_without_a_scheme(api, dashboard, settings):
    # The dashboard's URL field used to prepend https:// where the API refuses.
    url = "hooks.slack.com/services/T0/B0/x"
    _, code, text = api_error(
        api.post_json("/api/v1/channels", {"kind": "slack", "config": {"webhook_url": url}})
    )
    shown = dashboard.post("/channels/slack/save/", {"slack-webhook_url": url})

    assert form_errors(bound_channel_form(shown)) == [("webhook_url", code, text)]
    assert not ChannelConfig.objects.exists()


def test_moving_a_kept_secret_on_update(api, dashboard, account):
    channel = ChannelConfig.objects.create(account=account, kind="email", config=STORED_SMTP)
    moved = {k: v for k, v in STORED_SMTP.items() if k != "password"} | {"host": "localhost"}

    path, code, text = api_error(
        api.patch(f"/api/v1/channels/{channel.pk}", {"config": moved}, "application/json")
    )
    form = {f"email-{k}": v for k, v in (SMTP_FORM | {"host": "localhost"}).items()}
    shown = dashboard.post("/channels/email/save/", form)

    assert (path, code) == ("config.password", "secret_required")
    assert form_errors(bound_channel_form(shown)) == [("password", code, text)]
    channel.refresh_from_db()
    assert channel.config == STORED_SMTP


def test_updating_a_channel_with_a_bad_config(api, dashboard, account):
    config = {"bot_token": TELEGRAM_TOKEN}
    channel = ChannelConfig.objects.create(account=account, kind="telegram", config=config)
    bad = {"bot_token": "short:token"}

    _, code, text = api_error(
        api.patch(f"/api/v1/channels/{channel.pk}", {"config": bad}, "application/json")
    )
    shown = dashboard.post("/channels/telegram/save/", {"telegram-bot_token": "short:token"})

    assert form_errors(bound_channel_form(shown)) == [("bot_token", code, text)]
    channel.refresh_from_db()
    assert channel.config == config


# --- Channels: delete and send a test ---------------------------------------------------


def test_deleting_a_channel_that_is_not_there(api, dashboard):
    assert api.delete("/api/v1/channels/chn_01jd0000000000000000000000").status_code == 404
    assert dashboard.post("/channels/slack/delete/").status_code == 404


def notice(response) -> str:
    [text] = [str(m) for m in get_messages(response.wsgi_request)]
    return text


@pytest.mark.parametrize(
    ("kind", "config", "recipient"),
    [
        # The dashboard used to ignore a recipient its form refused and test the default.
        ("slack", {"webhook_url": SLACK_URL}, LONG),
        # Nothing resolves: no default chat, not a chat id, no such contact.
        ("telegram", {"bot_token": TELEGRAM_TOKEN}, "nobody"),
        ("email", {}, "not an address"),
        # A number, but not a usable one (the reason is named), and no number at all.
        ("sms", SMS_CONFIG, "+1 415"),
        ("whatsapp", WHATSAPP_META_CONFIG, "nobody"),
    ],
)
def test_sending_a_test_to_a_bad_recipient(api, dashboard, account, kind, config, recipient):
    channel = ChannelConfig.objects.create(account=account, kind=kind, config=config)

    answer = api.post_json(f"/api/v1/channels/{channel.pk}/test", {"recipient": recipient})
    assert answer.status_code == 400, answer.content
    shown = dashboard.post(f"/channels/{kind}/test/", {f"test-{kind}-recipient": recipient})

    assert notice(shown) == f"Test not sent: {answer.json()['error']['message']}"
    assert not Message.objects.exists()


# --- Contacts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "form", "field"),
    [
        # The dashboard used to say "This field is required."
        ({"identifier": ""}, {"identifier": ""}, "identifier"),
        # … and "Ensure this value has at most 255 characters (it has 256)."
        ({"identifier": LONG}, {"identifier": LONG}, "identifier"),
        ({"identifier": "taken"}, {"identifier": "taken"}, "identifier"),
        ({"identifier": "j", "name": "n" * 201}, {"identifier": "j", "name": "n" * 201}, "name"),
        (
            {"identifier": "j", "addresses": {"email": "nope"}},
            {"identifier": "j", "email": "nope"},
            "email",
        ),
        (
            {"identifier": "j", "addresses": {"telegram": "me"}},
            {"identifier": "j", "telegram": "me"},
            "telegram",
        ),
        (
            {"identifier": "j", "addresses": {"slack": "ftp://hooks.slack.com/x"}},
            {"identifier": "j", "slack": "ftp://hooks.slack.com/x"},
            "slack",
        ),
        (
            # The dashboard's URL field used to prepend https://.
            {"identifier": "j", "addresses": {"discord": "discord.com/api/webhooks/1/x"}},
            {"identifier": "j", "discord": "discord.com/api/webhooks/1/x"},
            "discord",
        ),
        (
            {"identifier": "j", "addresses": {"sms": "+1 415"}},
            {"identifier": "j", "sms": "+1 415"},
            "sms",
        ),
        (
            {"identifier": "j", "addresses": {"whatsapp": "0207946"}},
            {"identifier": "j", "whatsapp": "0207946"},
            "whatsapp",
        ),
    ],
)
def test_creating_a_contact_with_bad_input(api, dashboard, account, body, form, field):
    Contact.objects.create(account=account, identifier="taken")

    _, code, text = api_error(api.post_json("/api/v1/contacts", body))
    shown = dashboard.post("/contacts/new/", form)

    assert form_errors(shown.context["form"]) == [(field, code, text)]
    assert Contact.objects.count() == 1


def test_updating_a_contact_with_bad_input(api, dashboard, account):
    Contact.objects.create(account=account, identifier="taken")
    contact = Contact.objects.create(account=account, identifier="jane")

    for body, form, field in [
        ({"identifier": "taken"}, {"identifier": "taken"}, "identifier"),
        ({"addresses": {"email": "nope"}}, {"identifier": "jane", "email": "nope"}, "email"),
    ]:
        _, code, text = api_error(
            api.patch(f"/api/v1/contacts/{contact.pk}", body, "application/json")
        )
        shown = dashboard.post(f"/contacts/{contact.pk}/", form)

        assert form_errors(shown.context["form"]) == [(field, code, text)]
    contact.refresh_from_db()
    assert (contact.identifier, contact.addresses) == ("jane", {})


def test_deleting_a_contact_that_is_not_there(api, dashboard):
    assert api.delete("/api/v1/contacts/cnt_01jd0000000000000000000000").status_code == 404
    assert dashboard.post("/contacts/cnt_01jd0000000000000000000000/delete/").status_code == 404


def test_a_contact_identifier_taken_concurrently_is_the_same_error_on_both(
    api, dashboard, account, monkeypatch
):
    """The database's constraint catches what the check could not see (two saves at once)."""
    from channels_app import contacts

    monkeypatch.setattr(contacts, "check_identifier_free", lambda *args: None)
    Contact.objects.create(account=account, identifier="taken")

    _, code, text = api_error(api.post_json("/api/v1/contacts", {"identifier": "taken"}))
    shown = dashboard.post("/contacts/new/", {"identifier": "taken"})

    assert (code, text) == ("contact_exists", "A contact with this identifier already exists.")
    assert form_errors(shown.context["form"]) == [("identifier", code, text)]
