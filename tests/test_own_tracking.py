"""oneping's own open and click tracking for SMTP mail (issue #17), end to end through a
real worker and a real SMTP server: /send → the email the recipient gets (a pixel, links
through /t/c/) → the recipient's mail client and browser fetching them → a stored report
the reports worker applies → the delivery's status, counts and the customer's webhook."""

import json

import pytest
import standardwebhooks.webhooks
from django.test import Client

from channels_app.models import Delivery, ProviderReport
from tests.conftest import wait_until
from tests.fixtures_own_tracking import HELP, PARCEL, tracked_channel
from webhooks.models import Event

pytestmark = pytest.mark.usefixtures("celery_worker")

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


def subscribe(api, receiver, *event_types: str) -> str:
    """A webhook endpoint for these events; its signing secret."""
    answer = api.post_json(
        "/api/v1/webhook-endpoints",
        {"url": f"{receiver.url}/hooks", "event_types": list(event_types)},
    )
    assert answer.status_code == 201, answer.content
    return answer.json()["secret"]


def fetch(path: str, **headers: str):
    """A GET as the recipient's mail client or browser makes it."""
    return Client().get(path, HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.9", **headers)


def status_of(delivery: Delivery) -> str:
    return Delivery.objects.get(pk=delivery.pk).status


def events_of(delivery: Delivery) -> list[str]:
    return list(
        Event.objects.filter(delivery=delivery).order_by("sequence").values_list("type", flat=True)
    )


def test_an_opened_email_becomes_opened_and_is_announced_signed(
    api, tracked_email, send_tracked, receiver
):
    secret = subscribe(api, receiver, "message.opened")
    delivery, received = send_tracked(api)

    # The HTML part ends with the pixel; the text part is the message as written.
    assert received.html.rstrip().endswith(">")
    assert received.html.rstrip().rsplit("<", 1)[1].startswith("img ")
    assert received.pixel.startswith("/t/o/")
    assert PARCEL in received.text and "/t/" not in received.text

    answer = fetch(received.pixel)

    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/gif"
    assert answer["Cache-Control"].startswith("no-store")
    gif = answer.content
    assert gif[:6] == b"GIF89a"
    assert (int.from_bytes(gif[6:8], "little"), int.from_bytes(gif[8:10], "little")) == (1, 1)
    wait_until(lambda: status_of(delivery) == "opened")
    [request] = receiver.wait_for(1)
    standardwebhooks.webhooks.Webhook(secret).verify(request.body, request.headers)
    event = json.loads(request.body)
    assert event["event"] == "message.opened"
    assert event["data"]["delivery_id"] == delivery.pk
    assert event["data"]["status"] == "opened"
    reloaded = Delivery.objects.get(pk=delivery.pk)
    assert (reloaded.opens, reloaded.clicks) == (1, 0)
    report = ProviderReport.objects.get()
    assert (report.provider, report.reported_status, report.status) == (
        "oneping",
        "opened",
        "applied",
    )
    assert report.channel == tracked_email
    # The user agent is kept; the client's address only as a keyed hash.
    assert report.payload["user_agent"] == BROWSER
    assert "203.0.113.9" not in json.dumps(report.payload)
    assert len(report.payload["client"]) == 16


def test_a_click_goes_to_the_exact_link_and_makes_the_delivery_clicked(
    api, tracked_email, send_tracked, receiver
):
    secret = subscribe(api, receiver, "message.clicked")
    delivery, received = send_tracked(api)
    # Both web links go through oneping, in order; mailto and relative links do not.
    assert len(received.clicks) == 2
    assert "mailto:help@shop.example.com" in received.links
    assert "/orders" in received.links
    assert PARCEL not in received.links and HELP not in received.links

    parcel = fetch(received.clicks[0])
    help_page = fetch(received.clicks[1])

    assert parcel.status_code == help_page.status_code == 302
    assert parcel["Location"] == PARCEL
    assert help_page["Location"] == HELP
    assert parcel["Cache-Control"].startswith("no-store")
    assert parcel["Referrer-Policy"] == "no-referrer"
    # A click without an open (images blocked) moves straight to clicked; the second link's
    # click is a timeline entry and a count.
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).clicks == 2)
    assert status_of(delivery) == "clicked"
    [request] = receiver.wait_for(1)
    standardwebhooks.webhooks.Webhook(secret).verify(request.body, request.headers)
    assert json.loads(request.body)["event"] == "message.clicked"
    urls = sorted(report.payload["click_url"] for report in ProviderReport.objects.all())
    assert urls == sorted([PARCEL, HELP])
    # Under the key providers' click reports use: the timeline names the link, as for them.
    steps = [step.detail for step in Delivery.objects.get(pk=delivery.pk).timeline.all()]
    for url in (PARCEL, HELP):
        assert [d for d in steps if d.startswith(f"oneping reported clicked: {url}")], steps
    assert events_of(delivery) == ["message.sent", "message.clicked"]


def test_a_second_open_adds_a_timeline_entry_and_a_count_and_no_event(
    api, tracked_email, send_tracked, settings
):
    settings.ONEPING_TRACKING_REPEAT_SECONDS = 0  # every fetch is an open
    delivery, received = send_tracked(api)

    assert fetch(received.pixel).status_code == 200
    wait_until(lambda: status_of(delivery) == "opened")
    assert fetch(received.pixel).status_code == 200
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).opens == 2)

    opened = [step for step in delivery.timeline.all() if step.status == "opened"]
    assert len(opened) == 2
    assert "no change: it is opened" in opened[1].detail
    assert events_of(delivery) == ["message.sent", "message.opened"]
    # An open after a click is kept too, and changes nothing.
    assert fetch(received.clicks[0]).status_code == 302
    wait_until(lambda: status_of(delivery) == "clicked")
    assert fetch(received.pixel).status_code == 200
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).opens == 3)
    assert status_of(delivery) == "clicked"
    assert events_of(delivery) == ["message.sent", "message.opened", "message.clicked"]


def test_a_proxys_repeated_fetches_are_one_open(api, tracked_email, send_tracked):
    delivery, received = send_tracked(api)

    answers = [fetch(received.pixel) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    wait_until(lambda: status_of(delivery) == "opened")
    assert ProviderReport.objects.count() == 1
    assert Delivery.objects.get(pk=delivery.pk).opens == 1


def test_one_accounts_token_never_changes_another_accounts_delivery(
    api, tracked_email, send_tracked, make_account, make_api_client, smtp
):
    other = make_account("Other shop")
    other_channel = tracked_channel(other, smtp)
    other_api = make_api_client(other)
    mine, received = send_tracked(api, "jane@example.com")
    theirs, their_email = send_tracked(other_api, "joe@example.org")
    # A token names one delivery; changing the name breaks its signature.
    forged = received.pixel.replace(mine.pk, theirs.pk)
    assert forged != received.pixel

    assert fetch(forged).status_code == 404
    assert fetch(received.pixel).status_code == 200

    wait_until(lambda: status_of(mine) == "opened")
    assert status_of(theirs) == "sent"
    [report] = ProviderReport.objects.all()
    assert (report.account_id, report.channel_id) == (mine.account_id, tracked_email.pk)
    assert not ProviderReport.objects.filter(channel=other_channel).exists()
    assert Delivery.objects.get(pk=theirs.pk).opens == 0
    # Their own pixel is theirs alone.
    assert fetch(their_email.pixel).status_code == 200
    wait_until(lambda: status_of(theirs) == "opened")
    assert Delivery.objects.get(pk=mine.pk).opens == 1


def test_platform_mail_is_tracked_too(api, account, owner, smtp, public_url, settings):
    from channels_app.models import ChannelConfig
    from tests.fixtures_own_tracking import BODY, parts_of

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    ChannelConfig.objects.create(
        account=account,
        kind="email",
        config={"provider": "platform", "track_opens": True, "track_clicks": False},
    )
    accepted = api.post_json(
        "/api/v1/send", {"message": BODY, "channels": ["email"], "recipient": "jane@example.com"}
    )
    assert accepted.status_code == 202, accepted.content
    delivery = Delivery.objects.get(pk=accepted.json()["deliveries"][0]["id"])
    wait_until(lambda: status_of(delivery) == "sent")
    received = parts_of(smtp.wait_for(1)[0]["data"])
    # Opens only, as the channel asks: the links are the message's own.
    assert received.clicks == [] and PARCEL in received.links

    assert fetch(received.pixel).status_code == 200

    wait_until(lambda: status_of(delivery) == "opened")
