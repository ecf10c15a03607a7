"""A provider email channel's tracking_webhook_url (issue #17): where it points, the
credentials inside Postmark's, and who may see it (the create answer, `admin`-scoped keys,
owners and admins; never `read` keys or members)."""

from urllib.parse import urlsplit

import pytest

from accounts import api_keys
from accounts.models import Membership
from channels_app import channels
from channels_app.models import ChannelConfig, ProviderReport
from tests.callback_helpers import PUBLIC_URL, reloaded
from tests.conftest import ApiClient, wait_until
from tests.fakes_email import MAILGUN_CONFIG, POSTMARK_CONFIG
from tests.fixtures_email_tracking import payload, payload_about, post_postmark, sent_email

pytestmark = pytest.mark.usefixtures("public_url")


def keyed(account, *scopes: str) -> ApiClient:
    _, raw = api_keys.issue_key(account, "scoped", scopes)
    return ApiClient(raw)


def create(api: ApiClient, config: dict) -> dict:
    response = api.post_json("/api/v1/channels", {"kind": "email", "config": config})
    assert response.status_code == 201, response.content
    return response.json()


def test_the_create_answer_has_postmarks_url_with_its_credentials(api):
    created = create(api, POSTMARK_CONFIG)

    channel = ChannelConfig.objects.get()
    url = urlsplit(created["tracking_webhook_url"])
    assert (url.scheme, url.hostname) == ("https", urlsplit(PUBLIC_URL).hostname)
    assert url.path == f"/hooks/providers/postmark/{channel.callback_token}/"
    assert url.username == "oneping"
    assert len(url.password) >= 32
    # The status callback URL, shown to any reader, has no credentials.
    assert created["status_callback_url"] == PUBLIC_URL + url.path
    assert url.password not in created["status_callback_url"]


def test_the_url_from_the_api_is_the_one_postmark_can_post_to(api, postmark, celery_worker):
    created = create(api, POSTMARK_CONFIG)
    channel = ChannelConfig.objects.get()
    delivery = sent_email(api)  # through Postmark's fake, by the worker
    url = urlsplit(created["tracking_webhook_url"])

    body = payload_about("postmark", "delivery", delivery)
    response = post_postmark(channel, body, (url.username, url.password))

    assert response.status_code == 200
    assert ProviderReport.objects.count() == 1
    wait_until(lambda: reloaded(delivery).status == "delivered")


def test_an_admin_key_reads_it_and_a_read_key_gets_null(account, api):
    channel_id = create(api, POSTMARK_CONFIG)["id"]

    # GETs need `read`; the secret in this one needs `admin` too (accounts.scopes).
    admin = keyed(account, "read", "admin").get(f"/api/v1/channels/{channel_id}").json()
    read = keyed(account, "read").get(f"/api/v1/channels/{channel_id}").json()
    listed = keyed(account, "read").get("/api/v1/channels").json()

    assert urlsplit(admin["tracking_webhook_url"]).password
    assert read["tracking_webhook_url"] is None
    assert [c["tracking_webhook_url"] for c in listed] == [None]
    # The read key still sees where the provider reports, without the credentials.
    assert read["status_callback_url"] == admin["status_callback_url"]
    password = urlsplit(admin["tracking_webhook_url"]).password
    assert password not in str(read) and password not in str(listed)


def test_mailgun_and_resend_urls_carry_no_credentials(api):
    created = create(api, MAILGUN_CONFIG)

    url = urlsplit(created["tracking_webhook_url"])
    assert url.username is None and url.password is None
    assert created["tracking_webhook_url"] == created["status_callback_url"]
    assert url.path.startswith("/hooks/providers/mailgun/")


@pytest.mark.parametrize(
    "config",
    [
        {"provider": "platform"},
        {"provider": "smtp", "host": "smtp.acme.test", "port": 587, "from_email": "a@acme.test"},
    ],
)
def test_email_without_a_tracking_provider_has_no_url(api, config):
    assert create(api, config)["tracking_webhook_url"] is None


def test_the_channel_page_shows_it_to_owners_and_admins_only(
    account, owner_client, make_member, client
):
    channel = ChannelConfig.objects.create(account=account, kind="email", config=POSTMARK_CONFIG)
    url = channels.tracking_webhook_url(channel)
    password = urlsplit(url).password
    admin = make_member(Membership.Role.ADMIN, email="admin@example.com").user
    member = make_member(Membership.Role.MEMBER, email="member@example.com").user

    owner_page = owner_client.get("/channels/").content.decode()
    client.force_login(admin)
    admin_page = client.get("/channels/").content.decode()
    client.force_login(member)
    member_page = client.get("/channels/").content.decode()

    assert f'<code class="callback-url tracking-webhook-url">{url}</code>' in owner_page
    assert url in admin_page
    assert password not in member_page
    assert "shown to owners and admins only" in member_page
    assert "Status reports from Postmark" in member_page


def test_the_url_works_as_pasted_over_real_http(api, live_server, settings):
    """Postmark (like curl and requests) turns the URL's user:password into HTTP basic auth:
    the URL from the create answer, posted to as it is, is accepted."""
    import requests

    settings.ONEPING_PUBLIC_URL = live_server.url
    url = create(api, POSTMARK_CONFIG)["tracking_webhook_url"]
    assert url.startswith("http://oneping:")

    accepted = requests.post(url, json=payload("postmark", "delivery"), timeout=10)
    stripped = url.replace(f"{urlsplit(url).username}:{urlsplit(url).password}@", "")
    refused = requests.post(stripped, json=payload("postmark", "delivery"), timeout=10)

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["stored"] == 1
    assert refused.status_code == 403
