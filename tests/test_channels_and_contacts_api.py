"""Channel configurations and contacts: validation, secrets, tenancy."""

import pytest
from django.db import connection

from channels_app.models import ChannelConfig, Contact
from tests.conftest import TELEGRAM_TOKEN

SLACK_URL = "https://hooks.slack.com/services/T000/B000/abcdefghijklmnop"


def create(api, kind, config):
    return api.post_json("/api/v1/channels", {"kind": kind, "config": config})


def test_create_a_channel_and_never_see_its_secret_again(api, settings):
    settings.ONEPING_ALLOW_PRIVATE_URLS = True
    response = create(api, "telegram", {"bot_token": TELEGRAM_TOKEN, "default_chat_id": "42"})

    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("chn_")
    assert body["config"] == {"bot_token": "…" + TELEGRAM_TOKEN[-4:], "default_chat_id": "42"}
    listed = api.get("/api/v1/channels").json()
    assert TELEGRAM_TOKEN not in str(listed)


def test_secrets_are_encrypted_at_rest(api, account):
    create(api, "slack", {"webhook_url": SLACK_URL})
    api.post_json(
        "/api/v1/contacts",
        {"identifier": "ops", "addresses": {"discord": "https://discord.com/api/webhooks/1/zz"}},
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM channels_app_channelconfig")
        [(stored_config,)] = cursor.fetchall()
        cursor.execute("SELECT addresses FROM channels_app_contact")
        [(stored_addresses,)] = cursor.fetchall()

    assert "hooks.slack.com" not in stored_config
    assert "discord.com" not in stored_addresses
    assert ChannelConfig.objects.get().config["webhook_url"] == SLACK_URL


@pytest.mark.parametrize(
    ("kind", "config", "field", "code"),
    [
        ("telegram", {}, "bot_token", "invalid_config"),
        ("telegram", {"bot_token": "not-a-token"}, "bot_token", "invalid_config"),
        (
            "telegram",
            {"bot_token": TELEGRAM_TOKEN, "default_chat_id": "me"},
            "telegram",
            "invalid_config",
        ),
        ("slack", {}, "webhook_url", "invalid_config"),
        ("slack", {"webhook_url": "ftp://hooks.slack.com/x"}, "webhook_url", "url_not_allowed"),
        ("discord", {"webhook_url": "javascript:alert(1)"}, "webhook_url", "url_not_allowed"),
        ("slack", {"webhook_url": SLACK_URL, "extra": 1}, "extra", "invalid_config"),
        ("email", {"host": ""}, "host", "invalid_config"),
        ("email", {"host": "smtp.example.com", "port": 70000}, "port", "invalid_config"),
        (
            "email",
            {"host": "smtp.example.com", "use_tls": True, "use_ssl": True},
            "use_ssl",
            "invalid_config",
        ),
        (
            "email",
            {"host": "smtp.example.com", "from_email": "nope"},
            "from_email",
            "invalid_config",
        ),
    ],
)
def test_invalid_config_is_400_naming_the_field(api, kind, config, field, code):
    response = create(api, kind, config)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(f"config.{field}:")
    assert ChannelConfig.objects.count() == 0


def test_unknown_kind_is_400(api):
    response = create(api, "pager", {})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("kind:")


def test_private_urls_are_refused_when_the_setting_is_off(api, settings):
    settings.ONEPING_ALLOW_PRIVATE_URLS = False
    for url in (
        "http://127.0.0.1:8000/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://2130706433/hook",
    ):
        response = create(api, "slack", {"webhook_url": url})
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "url_not_allowed", url


def test_private_urls_are_refused_again_at_send_time(api, account, slack, settings):
    from channels_app import delivery as delivery_service
    from channels_app.models import Delivery

    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/hook"}
    )
    body = api.post_json(
        "/api/v1/send", {"message": "x", "channels": ["slack"], "recipient": "ops"}
    ).json()
    settings.ONEPING_ALLOW_PRIVATE_URLS = False

    delivery_service.attempt(body["deliveries"][0]["id"])

    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "private" in delivery.last_error
    assert slack.requests == []


def test_one_configuration_per_kind(api):
    assert create(api, "slack", {"webhook_url": SLACK_URL}).status_code == 201
    again = create(api, "slack", {"webhook_url": SLACK_URL})

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "channel_already_configured"


def test_update_keeps_secrets_that_are_not_resent(api):
    channel = create(api, "telegram", {"bot_token": TELEGRAM_TOKEN}).json()

    response = api.patch(
        f"/api/v1/channels/{channel['id']}",
        {"config": {"default_chat_id": "777", "bot_token": channel["config"]["bot_token"]}},
        content_type="application/json",
    )

    assert response.status_code == 200
    stored = ChannelConfig.objects.get().config
    assert stored == {"bot_token": TELEGRAM_TOKEN, "default_chat_id": "777"}


def test_delete_a_channel(api):
    channel = create(api, "slack", {"webhook_url": SLACK_URL}).json()
    assert api.delete(f"/api/v1/channels/{channel['id']}").status_code == 204
    assert ChannelConfig.objects.count() == 0


def test_contacts_crud_and_validation(api):
    created = api.post_json(
        "/api/v1/contacts",
        {
            "identifier": "jane@example.com",
            "name": "Jane",
            "addresses": {"email": "jane@example.com", "telegram": "12345", "slack": SLACK_URL},
        },
    )
    assert created.status_code == 201
    contact = created.json()
    assert contact["id"].startswith("cnt_")
    assert contact["addresses"]["slack"] == "…" + SLACK_URL[-4:]
    assert contact["addresses"]["telegram"] == "12345"

    duplicate = api.post_json("/api/v1/contacts", {"identifier": "jane@example.com"})
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["code"] == "contact_exists"

    bad = api.post_json(
        "/api/v1/contacts", {"identifier": "bob", "addresses": {"email": "not-an-email"}}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("addresses.email:")

    renamed = api.patch(
        f"/api/v1/contacts/{contact['id']}", {"name": "Jane D."}, content_type="application/json"
    )
    assert renamed.json()["name"] == "Jane D."
    assert Contact.objects.get().addresses["slack"] == SLACK_URL
    assert api.delete(f"/api/v1/contacts/{contact['id']}").status_code == 204


def test_a_contact_routes_each_channel_to_its_address(api, channels, telegram, slack):
    from channels_app import delivery as delivery_service

    override = f"{slack.url}/contact-hook"
    api.post_json(
        "/api/v1/contacts",
        {"identifier": "jane", "addresses": {"telegram": "999", "slack": override}},
    )

    body = api.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["telegram", "slack"], "recipient": "jane"}
    ).json()
    for delivery in body["deliveries"]:
        delivery_service.attempt(delivery["id"])

    assert telegram.requests[0].json()["chat_id"] == "999"
    assert slack.requests[0].path == "/contact-hook"
    log = api.get(f"/api/v1/messages/{body['id']}").json()
    addresses = {d["channel"]: d["address"] for d in log["deliveries"]}
    assert addresses["telegram"] == "jane (999)"
    assert override not in str(log)  # a webhook URL is a secret, even in the log


def test_a_send_never_routes_through_another_accounts_contact(
    api, channels, make_account, make_api_client
):
    # Given account B has a contact "jane" with a Telegram address, and A has none
    other = make_api_client(make_account("B"))
    other.post_json("/api/v1/contacts", {"identifier": "jane", "addresses": {"telegram": "777"}})

    # When A sends to "jane" on Telegram
    body = api.post_json(
        "/api/v1/send", {"message": "hi", "channels": ["telegram"], "recipient": "jane"}
    ).json()

    # Then A's own default chat is used, never B's contact
    delivery = body["deliveries"][0]
    log = api.get(f"/api/v1/messages/{body['id']}").json()
    assert delivery["channel"] == "telegram"
    assert log["deliveries"][0]["address"] == "4242"
    assert "777" not in str(log)


def test_other_accounts_channels_and_contacts_are_404(make_account, make_api_client):
    client_a = make_api_client(make_account("A"))
    client_b = make_api_client(make_account("B"))
    channel = create(client_a, "slack", {"webhook_url": SLACK_URL}).json()
    contact = client_a.post_json("/api/v1/contacts", {"identifier": "x"}).json()

    for url in (f"/api/v1/channels/{channel['id']}", f"/api/v1/contacts/{contact['id']}"):
        assert client_b.get(url).status_code == 404
        assert client_b.delete(url).status_code == 404
        assert (
            client_b.patch(url, {"name": "pwned"}, content_type="application/json").status_code
            == 404
        )
    assert client_b.post_json(f"/api/v1/channels/{channel['id']}/test", {}).status_code == 404
    assert client_b.get("/api/v1/channels").json() == []
    assert ChannelConfig.objects.count() == 1 and Contact.objects.count() == 1
