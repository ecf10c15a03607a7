"""The dashboard shows email's whole fate (issue #17): the message page's path of steps (or
the failure, with a bounce's kind and reason), the overview's per-channel chart of the last
30 days, and bounced and complained deliveries among the dead letters.

The data is made the real way: sends through the API that a real worker hands to the SMTP
fake, then provider reports stored as Postmark's tracking webhook stores them (its registered
handler, through channels_app.callbacks.receiving.store) and applied by the same worker."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account
from channels_app import suppressions
from channels_app.callbacks import receiving
from channels_app.integrations.callbacks import ParsedReport, get_callback_provider
from channels_app.models import ChannelConfig, Delivery, Message, ProviderReport
from oneping.ids import first_id_at
from tests.conftest import ApiClient, delivery_ids, email_config, send, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("celery_worker")]

# Generous: the machine running the tests may be busy; nothing here is about speed.
SLOW = 60
BOUNCE_REASON = (
    "The server was unable to deliver your message (ex: unknown user, mailbox not found)."
)


# Postmark's tracking webhook handler, as registered: the reports are stored and applied
# as its posts' are (the posts themselves: tests/test_email_tracking.py).
PROVIDER = get_callback_provider("postmark")


def email_channel(account: Account, smtp) -> ChannelConfig:
    return ChannelConfig.objects.create(account=account, kind="email", config=email_config(smtp))


def sent_emails(api: ApiClient, count: int, prefix: str = "jane") -> list[Delivery]:
    """`count` emails sent through the API, handed to the SMTP fake by the worker: each
    delivery "sent", with its Message-ID as provider_message_id."""
    ids = [
        delivery_ids(
            send(
                api,
                f"Your order {n} shipped",
                channels=["email"],
                recipient=f"{prefix}{n}@example.com",
            )
        )[0]
        for n in range(count)
    ]
    sent = Delivery.objects.filter(pk__in=ids, status="sent").exclude(provider_message_id="")
    wait_until(lambda: sent.count() == count, timeout=SLOW)
    return [Delivery.objects.get(pk=pk) for pk in ids]


def click_url(n: int) -> str:
    """The link the `n`th report about a delivery names, when it is a click."""
    return f"https://shop.example.com/track/{n}"


def report(delivery: Delivery, *statuses: str, bounce_type: str = "", error_text: str = "") -> None:
    """The provider's reports about `delivery`, in this order, each its own event (a second
    open is a report of its own; each click names its link); waits until the worker applied
    them all."""
    channel = ChannelConfig.objects.get(account_id=delivery.account_id, kind=delivery.channel)
    parsed = [
        ParsedReport(
            provider_message_id=delivery.provider_message_id,
            status=status,
            provider_status=status.capitalize(),
            dedup_key=f"{delivery.provider_message_id}:{status}:{n}",
            payload={"RecordType": status.capitalize()}
            | ({"click_url": click_url(n)} if status == "clicked" else {}),
            bounce_type=bounce_type if status == "bounced" else "",
            error_text=error_text if status in ("bounced", "complained") else "",
        )
        for n, status in enumerate(statuses)
    ]
    for one in parsed:  # one at a time, so the timeline keeps the order they "arrived" in
        stored, _ = receiving.store(channel, PROVIDER, [one])
        applied = ProviderReport.objects.filter(pk__in=stored, status="applied")
        wait_until(
            lambda stored=stored, applied=applied: applied.count() == len(stored), timeout=SLOW
        )


def fates(api: ApiClient) -> dict[str, Delivery]:
    """One email of each fate the dashboard shows, sent and reported on."""
    clicked, bounced, opened, complained, sent = sent_emails(api, 5)
    report(clicked, "delivered", "opened", "clicked", "clicked")
    report(bounced, "bounced", bounce_type="hard", error_text=BOUNCE_REASON)
    report(opened, "delivered", "opened", "opened", "opened")
    report(complained, "delivered", "opened", "complained")
    return {
        name: Delivery.objects.get(pk=delivery.pk)
        for name, delivery in {
            "clicked": clicked,
            "bounced": bounced,
            "opened": opened,
            "complained": complained,
            "sent": sent,
        }.items()
    }


def funnel_counts(page: str, channel: str) -> dict[str, int]:
    """The overview chart's numbers for one channel, as the SVG carries them."""
    figure = re.search(rf'<figure class="funnel" id="funnel-{channel}">(.*?)</figure>', page, re.S)
    assert figure, f"no chart for {channel}"
    return {
        stage: int(count)
        for stage, count in re.findall(r'data-stage="(\w+)" data-count="(\d+)"', figure.group(1))
    }


def card_of(page: str, delivery: Delivery) -> str:
    """The text of one delivery's card on its message page, tags stripped."""
    card = re.search(rf'<section class="card" id="{delivery.pk}">(.*?)</section>', page, re.S)
    assert card, f"no card for {delivery.pk}"
    return " ".join(re.sub(r"<[^>]+>", " ", card.group(1)).split())


def fate_steps(page: str, delivery: Delivery) -> str:
    """The text of one delivery's fate on its message page, tags stripped."""
    card = re.search(rf'<section class="card" id="{delivery.pk}">(.*?)</section>', page, re.S)
    assert card, f"no card for {delivery.pk}"
    fate = re.search(r'<ol class="fate".*?</ol>', card.group(1), re.S)
    assert fate, "no fate"
    return " ".join(re.sub(r"<[^>]+>", " ", fate.group(0)).split())


@pytest.fixture
def email(account, smtp) -> ChannelConfig:
    return email_channel(account, smtp)


# --- The overview's chart ------------------------------------------------------------------


def test_the_overview_counts_each_delivery_in_every_stage_it_reached(
    owner_client, api, email, smtp, slack_channel, make_account, make_api_client
):
    fates(api)
    send(api, channels=["slack"], recipient="ops")  # Slack answers 200: delivered
    # Another account's clicked emails: never counted here.
    other = make_account("Other")
    email_channel(other, smtp)
    for delivery in sent_emails(make_api_client(other), 2, prefix="theirs"):
        report(delivery, "delivered", "opened", "clicked")
    # An email of 31 days ago (its id and creation time then): outside the window.
    long_ago = timezone.now() - timedelta(days=31)
    old = Message.objects.create(account=email.account, recipient="old@example.com", body="x")
    Delivery.objects.create(
        id=first_id_at("dlv", long_ago),
        message=old,
        account=email.account,
        channel="email",
        address="old@example.com",
        status="clicked",
        created_at=long_ago,
    )
    wait_until(lambda: Delivery.objects.filter(channel="slack", status="delivered").exists())

    page = owner_client.get("/").content.decode()

    # clicked: sent, delivered, opened, clicked; bounced: sent, bounced; opened: sent,
    # delivered, opened; complained: sent, delivered; sent: sent.
    assert funnel_counts(page, "email") == {
        "sent": 5,
        "delivered": 3,
        "bounced": 1,
        "opened": 2,
        "clicked": 1,
    }
    assert funnel_counts(page, "slack") == {
        "sent": 1,
        "delivered": 1,
        "bounced": 0,
        "opened": 0,
        "clicked": 0,
    }
    assert (
        'aria-label="email, last 30 days: 5 sent, 3 delivered, 1 bounced, 2 opened, 1 clicked"'
        in page
    )


def test_the_other_account_sees_only_its_own_numbers(
    api, email, smtp, make_account, make_api_client
):
    fates(api)
    other = make_account("Other")
    email_channel(other, smtp)
    [theirs] = sent_emails(make_api_client(other), 1, prefix="theirs")
    report(theirs, "bounced", bounce_type="soft", error_text="Mailbox full")
    client = _owner_client_of(other)

    page = client.get("/").content.decode()

    assert funnel_counts(page, "email") == {
        "sent": 1,
        "delivered": 0,
        "bounced": 1,
        "opened": 0,
        "clicked": 0,
    }


def _owner_client_of(account: Account):
    from django.test import Client

    client = Client()
    client.force_login(account.members.get())
    return client


def test_an_account_without_deliveries_is_told_so(owner_client):
    page = owner_client.get("/").content.decode()
    assert "No deliveries in the last 30 days." in page
    assert "Messages, last 14 days" in page  # the message chart stays


# --- The message page ----------------------------------------------------------------------


def test_the_message_page_shows_the_path_with_times_and_later_opens_and_clicks(
    owner_client, api, email
):
    delivered = fates(api)

    clicked = owner_client.get(f"/messages/{delivered['clicked'].message_id}/").content.decode()
    steps = fate_steps(clicked, delivered["clicked"])
    assert re.fullmatch(
        r"✓ Sent \S+ \S+ UTC ✓ Delivered \S+ \S+ UTC ✓ Opened \S+ \S+ UTC "
        rf"✓ Clicked \S+ \S+ UTC 1 more click after the first on {re.escape(click_url(2))}",
        steps,
    ), steps
    # The first click's link (the delivery's third report), and the delivery's counts.
    assert click_url(3) not in steps
    assert "1 open and 2 clicks reported in all" in card_of(clicked, delivered["clicked"])
    # The times are the timeline's: the first report of each.
    entry = delivered["clicked"].timeline.filter(status="clicked").earliest("at", "id")
    assert f'datetime="{entry.at.isoformat()}"' in clicked

    opened = owner_client.get(f"/messages/{delivered['opened'].message_id}/").content.decode()
    assert "✓ Opened" in fate_steps(opened, delivered["opened"])
    assert "2 more opens after the first" in fate_steps(opened, delivered["opened"])
    assert "Clicked not reported" in fate_steps(opened, delivered["opened"])
    assert "3 opens and 0 clicks reported in all" in card_of(opened, delivered["opened"])

    sent = owner_client.get(f"/messages/{delivered['sent'].message_id}/").content.decode()
    assert fate_steps(sent, delivered["sent"]).count("not reported") == 3
    assert "reported in all" not in card_of(sent, delivered["sent"])


def test_the_message_page_shows_a_bounce_with_its_kind_and_the_providers_reason(
    owner_client, api, email
):
    delivered = fates(api)

    page = owner_client.get(f"/messages/{delivered['bounced'].message_id}/").content.decode()

    steps = fate_steps(page, delivered["bounced"])
    assert steps.startswith("✓ Sent")
    assert "✗ Bounced" in steps
    assert "hard bounce: the address does not accept mail" in steps
    assert BOUNCE_REASON in steps
    assert "Delivered" not in steps  # a failure shows the steps reached, then itself
    assert f'action="/deliveries/{delivered["bounced"].pk}/retry/"' in page  # reprocess

    page = owner_client.get(f"/messages/{delivered['complained'].message_id}/").content.decode()
    steps = fate_steps(page, delivered["complained"])
    assert re.match(r"✓ Sent .* ✓ Delivered .* ✓ Opened .* ✗ Complained", steps), steps


def test_a_click_without_an_open_report_shows_the_open_as_implied(owner_client, api, email):
    [delivery] = sent_emails(api, 1)
    report(delivery, "clicked")

    page = owner_client.get(f"/messages/{delivery.message_id}/").content.decode()

    steps = fate_steps(page, delivery)
    assert "✓ Delivered reached (no report of its own: a later step implies it)" in steps
    assert "✓ Opened reached (no report of its own" in steps
    assert re.search(rf"✓ Clicked \S+ \S+ UTC on {re.escape(click_url(0))}", steps)


def test_the_message_page_costs_the_same_queries_however_many_reports(owner_client, api, email):
    """The fate is read from the prefetched timeline and failure reports."""
    delivered = fates(api)

    def queries(delivery: Delivery) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(f"/messages/{delivery.message_id}/").status_code == 200
        return len(captured)

    queries(delivered["sent"])  # the first page of a session also stores the account in it
    assert (
        queries(delivered["clicked"]) == queries(delivered["bounced"]) == queries(delivered["sent"])
    )


# --- Dead letters ---------------------------------------------------------------------------


def test_bounced_and_complained_deliveries_are_dead_letters_reprocessed_from_the_failed_page(
    owner_client, api, email, smtp
):
    delivered = fates(api)
    bounced, complained = delivered["bounced"], delivered["complained"]

    failed = owner_client.get("/failed/").content.decode()
    overview = owner_client.get("/").content.decode()

    for page in (failed, overview):
        assert bounced.message_id in page and complained.message_id in page
        assert delivered["clicked"].message_id not in page
        assert '<span class="badge badge-bounced">Bounced</span>' in page
        assert '<span class="badge badge-complained">Complained</span>' in page
    assert BOUNCE_REASON in failed

    # The address works again: lifted from the suppression list its hard bounce put it on
    # (until then a reprocess fails again, tests/test_suppressions.py), the bounce is
    # reprocessed and the worker sends it anew.
    suppressions.lift(suppressions.lookup(bounced.account, "email", bounced.address))
    emails_before = len(smtp.messages)
    response = owner_client.post("/failed/reprocess/", {"kind": "deliveries", "one": bounced.pk})

    assert response.status_code == 302
    again = Delivery.objects.filter(pk=bounced.pk, status="sent", attempts=bounced.attempts + 1)
    wait_until(again.exists, timeout=SLOW)
    wait_until(lambda: len(smtp.messages) == emails_before + 1, timeout=SLOW)
    assert bounced.pk not in owner_client.get("/failed/").content.decode()
