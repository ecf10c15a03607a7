"""A stored secret is only ever sent where it was saved for: changing where it goes
(an SMTP host, port, user or TLS mode; a webhook URL) needs the secret again, in the API
and in the dashboard form alike."""

import pytest

from channels_app.integrations import channel_kinds, get_integration
from channels_app.models import ChannelConfig
from oneping.crypto import mask

PASSWORD = "smtp-pa55word-xyz"
# As saved since email configs name their provider (migration 0011 wrote it into older ones).
STORED = {
    "provider": "smtp",
    "host": "127.0.0.1",
    "port": 2525,
    "username": "alerts",
    "password": PASSWORD,
    "use_tls": False,
    "use_ssl": False,
    "from_email": "alerts@acme.test",
    "track_opens": False,
    "track_clicks": False,
}


@pytest.fixture
def email_channel(account) -> ChannelConfig:
    return ChannelConfig.objects.create(account=account, kind="email", config=dict(STORED))


def patch(api, channel: ChannelConfig, config: dict):
    return api.patch(
        f"/api/v1/channels/{channel.pk}", {"config": config}, content_type="application/json"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"host": "localhost"},  # another server (resolving like the first, to pass the guard)
        {"port": 2526},
        {"username": "someone-else"},
        {"use_tls": True},
        {"use_ssl": True},
    ],
)
def test_moving_the_smtp_password_without_sending_it_is_refused(api, email_channel, change):
    without_password = {k: v for k, v in STORED.items() if k != "password"}

    for sent in ({**without_password, **change}, {**STORED, **change, "password": mask(PASSWORD)}):
        response = patch(api, email_channel, sent)

        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "secret_required"
        assert list(error["details"]["fields"]["config"]) == ["password"]
        assert "password" in error["message"]
        assert PASSWORD not in response.content.decode()
    email_channel.refresh_from_db()
    assert email_channel.config == STORED


def test_sending_the_password_again_allows_the_move(api, email_channel):
    response = patch(api, email_channel, {**STORED, "host": "localhost", "port": 2526})

    assert response.status_code == 200, response.content
    email_channel.refresh_from_db()
    assert email_channel.config["host"] == "localhost"
    assert email_channel.config["password"] == PASSWORD


def test_other_changes_keep_the_password_without_sending_it(api, email_channel):
    without_password = {k: v for k, v in STORED.items() if k != "password"}

    response = patch(api, email_channel, {**without_password, "from_email": "ops@acme.test"})

    assert response.status_code == 200, response.content
    email_channel.refresh_from_db()
    assert email_channel.config == {**STORED, "from_email": "ops@acme.test"}


def test_a_server_without_a_stored_password_may_move_freely(api, account):
    channel = ChannelConfig.objects.create(
        account=account, kind="email", config={**STORED, "password": ""}
    )

    response = patch(api, channel, {"host": "localhost", "port": 2526})

    assert response.status_code == 200, response.content


def test_a_webhook_url_is_its_own_destination(api, account, slack):
    """The URL is the secret: keeping it (masked) keeps where it goes; a new one is sent."""
    url = f"{slack.url}/services/T0/B0/slacksecretpart"
    channel = ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": url}
    )

    assert patch(api, channel, {"webhook_url": mask(url)}).status_code == 200
    assert patch(api, channel, {}).status_code == 200
    channel.refresh_from_db()
    assert channel.config == {"webhook_url": url}
    assert (
        patch(api, channel, {"webhook_url": f"{slack.url}/services/T1/B1/new"}).status_code == 200
    )


def test_every_secret_declares_where_it_is_sent():
    """A new integration must say which of its fields move each secret (maybe none)."""
    for kind in channel_kinds():
        integration = get_integration(kind)
        assert set(integration.secret_destinations) == set(integration.secret_fields), kind


def test_the_dashboard_form_refuses_the_move_too(client, owner, email_channel):
    client.force_login(owner)

    response = client.post(
        "/channels/email/save/",
        {
            "email-host": "localhost",
            "email-port": STORED["port"],
            "email-username": STORED["username"],
            "email-password": "",  # "leave empty to keep the saved one"
            "email-security": "none",
            "email-from_email": STORED["from_email"],
        },
    )

    assert response.status_code == 400
    assert "Send the password again" in response.content.decode()
    assert PASSWORD not in response.content.decode()
    email_channel.refresh_from_db()
    assert email_channel.config == STORED


def test_the_dashboard_form_keeps_the_password_for_other_changes(client, owner, email_channel):
    client.force_login(owner)

    response = client.post(
        "/channels/email/save/",
        {
            "email-host": STORED["host"],
            "email-port": STORED["port"],
            "email-username": STORED["username"],
            "email-password": "",
            "email-security": "none",
            "email-from_email": "ops@acme.test",
        },
    )

    assert response.status_code == 302
    email_channel.refresh_from_db()
    assert email_channel.config == {**STORED, "from_email": "ops@acme.test"}
