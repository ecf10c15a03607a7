"""oneping's own tracking refuses what is not its own and records within bounds (issue
#17): forged, tampered and foreign tokens, links not in the message, untracked mail, and
the limits on what a hit may store. Deliveries are sent to a real SMTP server; reports
are applied here rather than by a worker."""

import pytest
from django.test import Client

from channels_app.callbacks import processing
from channels_app.models import ChannelConfig, Delivery, ProviderReport
from channels_app.tracking import tokens
from tests.fixtures_own_tracking import HELP, PARCEL, tracked_channel


def fetch(path: str, method: str = "get"):
    return getattr(Client(), method)(path, HTTP_USER_AGENT="Mail/3774", REMOTE_ADDR="192.0.2.7")


def nothing_stored(delivery: Delivery) -> bool:
    reloaded = Delivery.objects.get(pk=delivery.pk)
    return not ProviderReport.objects.exists() and reloaded.status == "sent"


def assert_plain_404(answer) -> None:
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/plain")
    assert len(answer.content) < 40


def apply_all() -> None:
    for report in ProviderReport.objects.filter(status="pending").order_by("received_at"):
        processing.apply_now(report.pk)


def test_a_click_token_for_a_url_not_in_the_message_is_refused(
    api, tracked_email, send_tracked_now
):
    delivery, _ = send_tracked_now(api)
    outside = "https://evil.example.net/login"
    # Properly signed (as if oneping had made them), but naming what the message lacks.
    not_in_message = tokens.click_token(delivery.pk, 0, outside)
    past_the_end = tokens.click_token(delivery.pk, 9, outside)
    # A link of another message: its digest is not among this message's links.
    elsewhere = tokens.click_token(delivery.pk, 1, "https://help.example.com/returns")

    for token in (not_in_message, past_the_end, elsewhere):
        assert_plain_404(fetch(f"/t/c/{token}"))
    assert nothing_stored(delivery)


def test_tampered_and_foreign_tokens_are_404_and_store_nothing(
    api, tracked_email, send_tracked_now
):
    delivery, received = send_tracked_now(api)
    pixel_token = received.pixel.removeprefix("/t/o/")
    click_token = received.clicks[0].removeprefix("/t/c/")
    value, signature = click_token.rsplit(".", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_link = value.replace(f"{delivery.pk}.0.", f"{delivery.pk}.1.")
    assert other_link != value

    refused = [
        f"/t/o/{pixel_token[:-1]}",  # a signature cut short
        f"/t/c/{value}.{flipped}",  # a signature changed
        f"/t/c/{other_link}.{signature}",  # the link's index changed
        f"/t/c/{pixel_token}",  # an open token is no click token
        f"/t/o/{click_token}",  # nor the other way round
        f"/t/o/{delivery.pk}",  # unsigned
        "/t/o/" + "a" * 300,  # too long to be ours
        f"/t/c/{tokens.click_token('dlv_00000000000000000000000000', 0, PARCEL)}",  # no such
    ]
    for path in refused:
        assert_plain_404(fetch(path))
    assert nothing_stored(delivery)


def test_a_token_made_with_another_key_is_refused_and_an_old_key_still_works(
    api, tracked_email, send_tracked_now, settings
):
    delivery, received = send_tracked_now(api)
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY = "another-installations-key-" + "x" * 40
    assert_plain_404(fetch(received.pixel))
    assert nothing_stored(delivery)

    # After a key rotation (the old key kept as a fallback) mail already sent still works.
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert fetch(received.pixel).status_code == 200
    assert ProviderReport.objects.count() == 1


def test_an_untracked_channel_sends_no_pixel_and_its_own_links(
    api, account, smtp, public_url, send_tracked_now
):
    tracked_channel(account, smtp, track_opens=False, track_clicks=False)

    _, received = send_tracked_now(api)

    assert "<img" not in received.html
    assert "/t/" not in received.html
    assert PARCEL in received.links and HELP in received.links


def test_without_a_public_url_mail_goes_out_untracked(api, account, smtp, send_tracked_now):
    # Tracking asked for, but a worker has no request to learn our host from.
    tracked_channel(account, smtp)

    _, received = send_tracked_now(api)

    assert "<img" not in received.html
    assert PARCEL in received.links and HELP in received.links


def test_a_stored_hit_is_applied_and_counted_in_the_api(api, tracked_email, send_tracked_now):
    delivery, received = send_tracked_now(api)

    assert fetch(received.pixel).status_code == 200
    assert fetch(received.clicks[1]).status_code == 302
    apply_all()

    shown = api.get(f"/api/v1/deliveries/{delivery.pk}").json()
    assert (shown["status"], shown["opens"], shown["clicks"]) == ("clicked", 1, 1)
    [in_message] = api.get(f"/api/v1/messages/{delivery.message_id}").json()["deliveries"]
    assert (in_message["opens"], in_message["clicks"]) == (1, 1)
    details = [step["detail"] for step in shown["timeline"]]
    assert any("oneping" in detail and "opened" in detail for detail in details)


def test_over_the_rate_a_hit_is_answered_but_not_recorded(
    api, tracked_email, send_tracked_now, settings
):
    settings.ONEPING_TRACKING_REPEAT_SECONDS = 0
    settings.ONEPING_TRACKING_RATE_PER_DELIVERY = 1
    settings.ONEPING_TRACKING_BURST_PER_DELIVERY = 2
    _, received = send_tracked_now(api)

    answers = [fetch(received.pixel), fetch(received.pixel), fetch(received.pixel)]
    click = fetch(received.clicks[0])

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    # The person clicking still gets where the link goes.
    assert (click.status_code, click["Location"]) == (302, PARCEL)
    assert ProviderReport.objects.count() == 2


def test_the_accounts_rate_bounds_all_its_deliveries(
    api, tracked_email, send_tracked_now, settings
):
    settings.ONEPING_TRACKING_RATE_PER_ACCOUNT = 1
    settings.ONEPING_TRACKING_BURST_PER_ACCOUNT = 1
    _, first = send_tracked_now(api)
    _, second = send_tracked_now(api, "joe@example.com")

    assert fetch(first.pixel).status_code == 200
    assert fetch(second.pixel).status_code == 200

    assert ProviderReport.objects.count() == 1


def test_past_the_cap_a_delivery_records_no_more(api, tracked_email, send_tracked_now, settings):
    settings.ONEPING_TRACKING_MAX_PER_DELIVERY = 3
    delivery, received = send_tracked_now(api)
    Delivery.objects.filter(pk=delivery.pk).update(opens=2, clicks=1)

    assert fetch(received.pixel).status_code == 200
    assert fetch(received.clicks[0])["Location"] == PARCEL

    assert not ProviderReport.objects.exists()


def test_tracking_turned_off_since_the_send_answers_and_records_nothing(
    api, tracked_email, send_tracked_now
):
    delivery, received = send_tracked_now(api)
    tracked_email.config = {**tracked_email.config, "track_opens": False, "track_clicks": False}
    tracked_email.save()

    assert fetch(received.pixel).status_code == 200
    assert fetch(received.clicks[1])["Location"] == HELP

    assert nothing_stored(delivery)


@pytest.mark.parametrize("which", ["pixel", "click"])
def test_a_head_request_is_answered_and_not_recorded(api, tracked_email, send_tracked_now, which):
    delivery, received = send_tracked_now(api)
    path = received.pixel if which == "pixel" else received.clicks[0]

    answer = fetch(path, "head")

    assert answer.status_code == (200 if which == "pixel" else 302)
    assert nothing_stored(delivery)


def test_a_hit_on_a_removed_channel_is_answered_and_not_recorded(
    api, tracked_email, send_tracked_now
):
    delivery, received = send_tracked_now(api)
    ChannelConfig.objects.filter(pk=tracked_email.pk).delete()

    assert fetch(received.pixel).status_code == 200
    assert fetch(received.clicks[0])["Location"] == PARCEL

    assert nothing_stored(delivery)


def test_other_methods_are_not_allowed(api, tracked_email, send_tracked_now):
    _, received = send_tracked_now(api)

    assert Client().post(received.pixel).status_code == 405
    assert not ProviderReport.objects.exists()
