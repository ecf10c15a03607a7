"""One rule for every absolute URL the product hands out (issue #16): ONEPING_PUBLIC_URL
when set, otherwise the request's own. Inbound webhook URLs (API and dashboard),
invitation links, and the channel page's status-callback URL."""

import re

import pytest
from django.core import mail

from tests.fakes_phones import APP_SECRET, VERIFY_TOKEN
from webhooks.inbound import endpoints

PUBLIC = "https://notify.example.com"


@pytest.fixture(params=["public", "request"])
def base(request, settings) -> str:
    """Each test runs twice: with ONEPING_PUBLIC_URL, and without (the request's host)."""
    if request.param == "public":
        settings.ONEPING_PUBLIC_URL = PUBLIC
        return PUBLIC
    settings.ONEPING_PUBLIC_URL = ""
    return "http://testserver"


def test_the_inbound_url_in_the_api(api, account, base):
    endpoint = endpoints.create(account, name="hook", verification="none", rules=[])

    listed = api.get("/api/v1/inbound-endpoints").json()["results"]

    assert listed[0]["url"] == f"{base}/hooks/in/{endpoint.token}"


def test_the_inbound_url_on_the_dashboard(owner_client, account, base):
    endpoint = endpoints.create(account, name="hook", verification="none", rules=[])

    page = owner_client.get(f"/inbound/{endpoint.pk}/").content.decode()

    assert f"{base}/hooks/in/{endpoint.token}" in page
    if base == PUBLIC:
        assert "http://testserver/hooks/in/" not in page


def test_the_invitation_link(owner_client, base):
    response = owner_client.post("/team/invite/", {"email": "new@example.com", "role": "admin"})

    assert response.status_code == 302
    [sent] = mail.outbox
    assert re.search(re.escape(base) + r"/invite/[^/\s]+/", sent.body)
    if base == PUBLIC:
        assert "http://testserver/invite/" not in sent.body


def test_the_channel_page_shows_the_meta_callback_url_to_paste(
    owner_client, whatsapp_meta_channel, base
):
    channel = whatsapp_meta_channel

    page = owner_client.get("/channels/").content.decode()

    assert f"{base}/hooks/providers/whatsapp/{channel.callback_token}/" in page
    assert "Verify token" in page or "verify_token" in page
    assert APP_SECRET not in page
    assert VERIFY_TOKEN not in page
    assert ("is not set" in page) == (base != PUBLIC)


def test_the_channel_page_says_why_twilio_reports_nothing_without_a_public_url(
    owner_client, sms_channel, base
):
    channel = sms_channel

    page = owner_client.get("/channels/").content.decode()

    url = f"{base}/hooks/providers/twilio/{channel.callback_token}/"
    if base == PUBLIC:
        assert url in page
        assert "every message oneping sends asks Twilio" in page
    else:
        assert url not in page
        assert "No callback URL is sent" in page
        assert "stay <code>sent</code>" in page


def test_kinds_without_status_callbacks_show_no_callback_block(owner_client, slack_channel):
    page = owner_client.get("/channels/").content.decode()
    assert 'id="callback-slack"' not in page
    assert "Status reports from" not in page
