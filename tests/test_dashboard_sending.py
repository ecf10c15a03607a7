"""Dashboard: overview, channels (with test sends), messages log and detail."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import api_keys
from accounts.models import MonthlyUsage
from accounts.usage import billing_period
from channels_app import delivery as delivery_service
from channels_app.models import ChannelConfig, Delivery, Message
from tests.conftest import TELEGRAM_TOKEN, send
from tests.fakes import Canned


def test_overview_walks_a_new_account_through_onboarding(owner_client, account, slack):
    page = owner_client.get("/").content.decode()
    assert "Get started" in page
    assert page.count('class="done"') == 0

    api_keys.issue_key(account, "k")
    ChannelConfig.objects.create(account=account, kind="slack", config={"webhook_url": slack.url})
    owner_client.post("/channels/slack/test/", {"test-slack-recipient": ""})
    delivery_service.attempt(Delivery.objects.get().pk)

    page = owner_client.get("/").content.decode()
    assert "Get started" not in page  # all four steps done
    assert "Messages, last 14 days" in page
    assert "<svg" in page


def test_overview_shows_usage_and_recent_failures(owner_client, api, channels, slack):
    slack.answer(Canned(404, "no_service"))
    body = send(api)
    delivery_service.attempt(body["deliveries"][0]["id"])

    page = owner_client.get("/").content.decode()

    assert "1 of 100 messages" in page
    assert body["id"] in page
    assert "no_service" in page


def test_quota_banner_from_80_percent_and_at_100(owner_client, account):
    period = billing_period()[0].date()
    usage = MonthlyUsage.objects.create(account=account, period_start=period, used=79)
    assert "You have used" not in owner_client.get("/contacts/").content.decode()

    usage.used = 80
    usage.save()
    assert "You have used 80 of 100 messages" in owner_client.get("/contacts/").content.decode()

    usage.used = 100
    usage.save()
    page = owner_client.get("/contacts/").content.decode()
    assert "sends are refused until the quota resets" in page


def test_configure_slack_and_see_the_test_result_with_the_providers_answer(owner_client, slack):
    response = owner_client.post(
        "/channels/slack/save/", {"slack-webhook_url": f"{slack.url}/services/T/B/X"}
    )
    assert response.status_code == 302
    page = owner_client.get("/channels/").content.decode()
    assert "configured" in page
    assert f"{slack.url}/services/T/B/X" not in page  # shown masked

    sent = owner_client.post("/channels/slack/test/", {"test-slack-recipient": ""})
    result_url = sent["Location"]
    waiting = owner_client.get(result_url).content.decode()
    assert 'hx-trigger="every 1s"' in waiting  # refreshes itself until final

    delivery_service.attempt(Delivery.objects.get().pk)
    done = owner_client.get(result_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Delivered" in done
    assert "HTTP 200: ok" in done
    assert "hx-trigger" not in done
    assert Message.objects.get().is_channel_test


def test_channel_form_errors_are_shown_next_to_the_field(owner_client):
    response = owner_client.post("/channels/telegram/save/", {"telegram-bot_token": "nope"})

    assert response.status_code == 400
    assert "Enter the token @BotFather gave you" in response.content.decode()
    assert not ChannelConfig.objects.exists()


def test_updating_a_channel_keeps_its_secret_when_left_empty(owner_client, account):
    ChannelConfig.objects.create(
        account=account, kind="telegram", config={"bot_token": TELEGRAM_TOKEN}
    )

    owner_client.post(
        "/channels/telegram/save/",
        {"telegram-bot_token": "", "telegram-default_chat_id": "-100123"},
    )

    assert ChannelConfig.objects.get().config == {
        "bot_token": TELEGRAM_TOKEN,
        "default_chat_id": "-100123",
    }


def test_email_channel_with_own_smtp(owner_client, smtp):
    owner_client.post(
        "/channels/email/save/",
        {
            "email-host": smtp.host,
            "email-port": smtp.port,
            "email-security": "none",
            "email-from_email": "alerts@acme.test",
        },
    )
    config = ChannelConfig.objects.get().config
    assert config["host"] == smtp.host and config["port"] == smtp.port
    assert config["use_tls"] is False and config["from_email"] == "alerts@acme.test"


def test_members_can_send_tests_but_not_configure(member_client, account, slack):
    ChannelConfig.objects.create(account=account, kind="slack", config={"webhook_url": slack.url})

    page = member_client.get("/channels/").content.decode()
    assert "Send test" in page
    assert "Update Slack" not in page
    assert (
        member_client.post("/channels/slack/save/", {"slack-webhook_url": slack.url}).status_code
        == 403
    )
    assert member_client.post("/channels/slack/delete/").status_code == 403
    assert member_client.post("/channels/slack/test/", {}).status_code == 302
    assert Message.objects.filter(is_channel_test=True).count() == 1


def test_message_log_filters_and_detail(owner_client, api, channels, slack):
    delivered = send(api, recipient="ops")
    delivery_service.attempt(delivered["deliveries"][0]["id"])
    queued = send(api, channels=["telegram"], recipient="4242")

    everything = owner_client.get("/messages/").content.decode()
    assert delivered["id"] in everything and queued["id"] in everything
    assert queued["id"] not in owner_client.get("/messages/?status=delivered").content.decode()
    page = owner_client.get("/messages/?channel=telegram").content.decode()
    assert queued["id"] in page and delivered["id"] not in page
    bad = owner_client.get("/messages/?status=lost").content.decode()
    assert "Select a valid choice" in bad

    detail = owner_client.get(f"/messages/{delivered['id']}/").content.decode()
    assert "HTTP 200: ok" in detail  # the provider's answer on the timeline
    assert "hx-trigger" not in detail  # final: no polling
    live = owner_client.get(f"/messages/{queued['id']}/").content.decode()
    assert 'hx-trigger="every 2s"' in live


def test_reprocess_a_failed_delivery_from_its_message_page(owner_client, api, channels, slack):
    slack.answer(Canned(404, "no_service"))
    body = send(api)
    delivery_id = body["deliveries"][0]["id"]
    delivery_service.attempt(delivery_id)

    owner_client.post(f"/deliveries/{delivery_id}/retry/")

    assert Delivery.objects.get().status == "queued"


def test_message_log_page_costs_a_constant_number_of_queries(owner_client, api, channels):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get("/messages/").status_code == 200
        return len(captured)

    send(api)
    queries()  # the first page of a session also stores the current account in it
    few = queries()
    for n in range(15):
        send(api, message=f"m{n}", channels=["slack", "discord"])
    assert queries() == few


def test_another_accounts_message_is_404(owner_client, make_account, make_api_client, slack):
    other = make_account("Other")
    ChannelConfig.objects.create(account=other, kind="slack", config={"webhook_url": slack.url})
    theirs = send(make_api_client(other))

    assert owner_client.get(f"/messages/{theirs['id']}/").status_code == 404
    assert (
        owner_client.post(f"/deliveries/{theirs['deliveries'][0]['id']}/retry/").status_code == 404
    )
    assert owner_client.get(f"/channels/test/{theirs['deliveries'][0]['id']}/").status_code == 404
