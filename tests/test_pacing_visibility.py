"""What the API, the dashboard and the admin show of a channel's pacing (channels_app.pacing):
the rates of its main destination, the deliveries waiting, a provider's pause; and the
operator-only `unpaced` flag the API never sets."""

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from channels_app.models import ChannelConfig, Delivery
from channels_app.pacing import shown as pacing_shown
from channels_app.pacing import store
from tests.conftest import send, wait_until
from tests.fakes import Canned
from tests.metrics_helpers import TOKEN, moved, scrape

SLACK_URL = "https://hooks.slack.com/services/T000/B000/abcdefghijklmnop"
SLACK_SEND = {"channels": ["slack"], "recipient": "ops"}


def create_slack(api, **config) -> dict:
    response = api.post_json(
        "/api/v1/channels", {"kind": "slack", "config": {"webhook_url": SLACK_URL, **config}}
    )
    assert response.status_code == 201, response.content
    return response.json()


def create_slack_at(api, slack, **config) -> dict:
    """A Slack channel whose webhook is the fake's (the worker tests send to it)."""
    response = api.post_json(
        "/api/v1/channels",
        {"kind": "slack", "config": {"webhook_url": f"{slack.url}/services/T/B/X", **config}},
    )
    assert response.status_code == 201, response.content
    return response.json()


def pacing_of(api, channel_id: str) -> dict:
    response = api.get(f"/api/v1/channels/{channel_id}")
    assert response.status_code == 200, response.content
    return response.json()["pacing"]


def test_a_slack_channel_shows_its_webhook_rate_and_never_the_url(api):
    channel = create_slack(api)

    pacing = pacing_of(api, channel["id"])

    assert pacing == {
        "paced": True,
        "max_per_second": None,
        "rates": [{"scope": "webhook", "per_second": 1.0, "burst": 1}],
        "waiting": 0,
        "paused_until": None,
    }
    assert "hooks.slack.com" not in str(pacing)


def test_max_per_second_is_the_rate_shown(api):
    channel = create_slack(api, max_per_second=0.5)

    pacing = pacing_of(api, channel["id"])

    assert pacing["max_per_second"] == 0.5
    assert pacing["rates"] == [{"scope": "webhook", "per_second": 0.5, "burst": 1}]


def test_a_patch_of_max_per_second_alone_keeps_the_webhook(api):
    # The README's example: the rate changes, the stored (secret) URL stays.
    channel = create_slack(api)

    response = api.patch(
        f"/api/v1/channels/{channel['id']}",
        {"config": {"max_per_second": 0.5}},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["config"] == {"webhook_url": "…mnop", "max_per_second": 0.5}
    assert response.json()["pacing"]["rates"][0]["per_second"] == 0.5
    assert ChannelConfig.objects.get(pk=channel["id"]).config == {
        "webhook_url": SLACK_URL,
        "max_per_second": 0.5,
    }


def test_an_unpaced_channel_says_so(api):
    channel = create_slack(api)
    ChannelConfig.objects.filter(pk=channel["id"]).update(unpaced=True)

    pacing = pacing_of(api, channel["id"])

    assert pacing["paced"] is False
    assert pacing["rates"] == []


def test_waiting_counts_the_paced_and_the_held_not_the_head(api, account, settings):
    # Given three messages to one webhook (no worker runs in this test: all stay queued)
    channel = create_slack(api)
    first, second, third = (
        send(api, f"update {n}", **SLACK_SEND)["deliveries"][0]["id"] for n in range(3)
    )
    assert Delivery.objects.filter(pk__in=[first, second, third], destination="").count() == 0

    # the head is claimable: the two behind it wait
    assert pacing_of(api, channel["id"])["waiting"] == 2

    # When the head waits for its token, it waits too
    Delivery.objects.filter(pk=first).update(paced_until=timezone.now() + timedelta(minutes=5))
    assert pacing_of(api, channel["id"])["waiting"] == 3

    # and when it is sent, the next is the head (not waiting) and the last is held
    Delivery.objects.filter(pk=first).update(status=Delivery.Status.SENT, paced_until=None)
    assert pacing_of(api, channel["id"])["waiting"] == 1


def test_waiting_is_scoped_to_the_account(api, make_account, make_api_client):
    channel = create_slack(api)
    other_api = make_api_client(make_account("Other"))
    create_slack(other_api)
    for n in range(3):
        send(other_api, f"theirs {n}", **SLACK_SEND)

    assert pacing_of(api, channel["id"])["waiting"] == 0


def test_a_pause_of_the_webhooks_bucket_is_shown_until_it_ends(api, make_account, make_api_client):
    # Given the main bucket paused (as a provider's 429 does, through the real store)
    channel = create_slack(api)
    [bucket] = pacing_shown.buckets_of(ChannelConfig.objects.get(pk=channel["id"]))
    store.pause([bucket.key("slack")], 90)

    shown = pacing_of(api, channel["id"])["paused_until"]

    left = datetime.fromisoformat(shown.replace("Z", "+00:00")) - timezone.now()
    assert timedelta(seconds=30) < left <= timedelta(seconds=90)
    [listed] = api.get("/api/v1/channels").json()
    assert listed["pacing"]["paused_until"] == shown

    # and a pause that is over is not (another account's webhook: a bucket of its own)
    other_api = make_api_client(make_account("Other"))
    other = create_slack(other_api, webhook_url=SLACK_URL.replace("abcd", "wxyz"))
    [other_bucket] = pacing_shown.buckets_of(ChannelConfig.objects.get(pk=other["id"]))
    store.pause([other_bucket.key("slack")], 0.2)
    wait_until(lambda: pacing_of(other_api, other["id"])["paused_until"] is None, timeout=10)


def test_the_list_shows_pacing_without_waiting(api):
    create_slack(api)
    listed = api.get("/api/v1/channels").json()

    [channel] = listed
    assert channel["pacing"]["rates"] == [{"scope": "webhook", "per_second": 1.0, "burst": 1}]
    assert "waiting" not in channel["pacing"]


def test_the_channel_page_shows_the_rate_and_the_waiting(api, owner_client):
    channel = create_slack(api, max_per_second=0.5)
    for n in range(3):  # no worker runs: the head is claimable, two wait behind it
        send(api, f"update {n}", **SLACK_SEND)

    page = owner_client.get("/channels/").content.decode()

    assert "Paced: 0.5/s per webhook (your <code>max_per_second</code>)" in page
    assert '<span class="pacing-waiting">2 waiting</span>' in page

    ChannelConfig.objects.filter(pk=channel["id"]).update(unpaced=True)
    page = owner_client.get("/channels/").content.decode()
    assert "Not paced: deliveries leave as fast as workers send them." in page


@pytest.mark.parametrize("method", ["post", "patch"])
def test_the_api_never_sets_the_operator_flag(api, method):
    if method == "post":
        response = api.post_json(
            "/api/v1/channels",
            {"kind": "slack", "config": {"webhook_url": SLACK_URL}, "unpaced": True},
        )
        assert response.status_code == 201, response.content
        channel_id = response.json()["id"]
    else:
        channel_id = create_slack(api)["id"]
        response = api.patch(
            f"/api/v1/channels/{channel_id}",
            {"unpaced": True, "pacing": {"paced": False}},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content

    # DRF leaves fields a serializer does not declare out of validated_data: ignored.
    assert ChannelConfig.objects.get(pk=channel_id).unpaced is False
    assert response.json()["pacing"]["paced"] is True
    assert "unpaced" not in response.json()


def test_staff_see_and_set_unpaced_in_the_admin(account, admin_user):
    channel = ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": SLACK_URL}
    )
    client = Client()
    client.force_login(admin_user)
    url = f"/admin/channels_app/channelconfig/{channel.pk}/change/"

    page = client.get(url)
    assert page.status_code == 200
    assert b'name="unpaced"' in page.content
    assert SLACK_URL.encode() not in page.content

    response = client.post(url, {"unpaced": "on"})

    assert response.status_code == 302, response.content
    channel.refresh_from_db()
    assert channel.unpaced is True
    assert channel.config == {"webhook_url": SLACK_URL}  # the secret config is untouched
    listing = client.get("/admin/channels_app/channelconfig/?unpaced__exact=1")
    assert channel.pk.encode() in listing.content


# --- through a real worker and the real token store ---------------------------------------


@pytest.mark.worker
@pytest.mark.usefixtures("empty_queue")
def test_a_paced_wait_is_counted_and_on_the_timeline(api, slack, settings, celery_worker):
    # Given a Slack channel at 0.5 a second: the second message's token is 2.2 s away
    settings.METRICS_TOKEN = TOKEN
    create_slack_at(api, slack, max_per_second=0.5)
    before = scrape()

    # When two messages go to its webhook
    first, second = (send(api, f"deploy {n}", **SLACK_SEND)["deliveries"][0]["id"] for n in (1, 2))

    # Then both arrive, in order, and the second waited for its token once at least
    wait_until(
        lambda: Delivery.objects.filter(pk__in=[first, second], status="delivered").count() == 2,
        timeout=60,
    )
    assert [r.json()["text"] for r in slack.requests] == ["deploy 1", "deploy 2"]
    waited = Delivery.objects.get(pk=second).timeline.filter(detail__startswith="paced until")
    assert waited.count() == 1
    assert moved(before, scrape(), "oneping_paced_waits_total", channel="slack") >= 1
    assert Delivery.objects.get(pk=second).attempts == 1  # a wait is no attempt


@pytest.mark.worker
@pytest.mark.usefixtures("empty_queue")
def test_a_providers_429_pauses_the_channel_and_is_counted(api, slack, settings, celery_worker):
    settings.METRICS_TOKEN = TOKEN
    channel = create_slack_at(api, slack)
    slack.answer(Canned(429, "rate_limited", headers={"Retry-After": "120"}))
    before = scrape()

    delivery_id = send(api, "deploy", **SLACK_SEND)["deliveries"][0]["id"]
    wait_until(lambda: Delivery.objects.get(pk=delivery_id).status == "retrying", timeout=60)

    assert moved(before, scrape(), "oneping_provider_rate_limited_total", channel="slack") == 1
    paused = pacing_of(api, channel["id"])["paused_until"]
    assert paused is not None
    left = datetime.fromisoformat(paused.replace("Z", "+00:00")) - timezone.now()
    assert timedelta(seconds=60) < left <= timedelta(seconds=120)


@pytest.mark.parametrize(
    ("per_second", "label"),
    [(1.0, "1/s"), (30.0, "30/s"), (0.5, "0.5/s"), (20 / 60, "20/min"), (1 / 6, "10/min")],
)
def test_the_channel_page_writes_rates_as_providers_publish_them(per_second, label):
    from channels_app.dashboard.channels import rate_label

    assert rate_label(per_second) == label
