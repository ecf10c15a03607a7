"""Channel tests stay free but cannot be turned into free sending (issue #13, quota bypass).

- tests are capped per channel and UTC day (ONEPING_TEST_SENDS_PER_DAY, 20), through the
  API and the dashboard alike (one service: channels_app.channels.send_test);
- a test through the platform's own mail (email config `{}`) goes only to a verified
  address of a member of the account;
- an account whose owner has not verified their email sends nothing through the platform's
  mail (403 owner_not_verified, at acceptance).
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core.management import call_command

from accounts.models import Membership, User
from channels_app import delivery as delivery_service
from channels_app.models import ChannelConfig, Contact, Delivery, Message
from tests.conftest import unpaced
from webhooks.inbound import processing
from webhooks.models import InboundEndpoint, InboundEvent


@pytest.fixture
def platform_mail(account, smtp, settings):
    """The account's email channel uses the platform's mail, which is the fake SMTP server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "noreply@oneping.test"
    return ChannelConfig.objects.create(account=account, kind="email", config={})


def test_url(channel: ChannelConfig) -> str:
    return f"/api/v1/channels/{channel.pk}/test"


test_url.__test__ = False  # a helper, not a test


def attempt(delivery_id: str) -> Delivery:
    delivery_service.attempt(delivery_id)
    return Delivery.objects.get(pk=delivery_id)


def next_midnight_utc() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


# --- The daily cap ---------------------------------------------------------------------


def test_the_21st_test_of_a_channel_in_a_day_is_refused_with_retry_after(
    api, slack_channel, discord
):
    answers = [api.post_json(test_url(slack_channel)).status_code for _ in range(21)]

    assert answers == [202] * 20 + [429]
    refused = api.post_json(test_url(slack_channel))
    error = refused.json()["error"]
    assert error["code"] == "test_limit_exceeded"
    assert error["details"]["limit"] == 20
    assert error["details"]["channel"] == "slack"
    resets_at = next_midnight_utc()
    assert error["details"]["resets_at"] == resets_at.isoformat().replace("+00:00", "Z")
    retry_after = int(refused["Retry-After"])
    assert 0 < retry_after <= (resets_at - datetime.now(UTC)).total_seconds() + 1
    assert Message.objects.filter(is_channel_test=True).count() == 20
    # Still free: none of them counted against the monthly quota.
    assert api.get("/api/v1/account").json()["usage"]["used"] == 0


def test_the_cap_is_per_channel_and_survives_recreating_the_channel(
    api, account, slack_channel, discord, settings
):
    settings.ONEPING_TEST_SENDS_PER_DAY = 2
    discord_channel = ChannelConfig.objects.create(
        account=account, kind="discord", config={"webhook_url": f"{discord.url}/api/webhooks/1/a"}
    )
    for _ in range(2):
        assert api.post_json(test_url(slack_channel)).status_code == 202

    assert api.post_json(test_url(slack_channel)).status_code == 429
    assert api.post_json(test_url(discord_channel)).status_code == 202  # its own count

    config = slack_channel.config
    slack_channel.delete()
    again = ChannelConfig.objects.create(account=account, kind="slack", config=config)
    assert api.post_json(test_url(again)).status_code == 429


def test_yesterdays_tests_do_not_count(api, slack_channel, settings):
    settings.ONEPING_TEST_SENDS_PER_DAY = 1
    assert api.post_json(test_url(slack_channel)).status_code == 202
    assert api.post_json(test_url(slack_channel)).status_code == 429

    yesterday = datetime.now(UTC) - timedelta(days=1)
    Message.objects.filter(is_channel_test=True).update(created_at=yesterday)

    assert api.post_json(test_url(slack_channel)).status_code == 202


def test_the_dashboard_shares_the_apis_count_and_says_why(
    api, owner_client, slack_channel, settings
):
    settings.ONEPING_TEST_SENDS_PER_DAY = 2
    assert api.post_json(test_url(slack_channel)).status_code == 202
    sent = owner_client.post("/channels/slack/test/", {"test-slack-recipient": ""})
    assert sent.status_code == 302 and "/channels/test/dlv_" in sent["Location"]

    refused = owner_client.post("/channels/slack/test/", {"test-slack-recipient": ""})

    assert refused.status_code == 302 and refused["Location"].endswith("/channels/")
    [notice] = [str(m) for m in get_messages(refused.wsgi_request)]
    assert notice.startswith("Test not sent: This slack channel has sent its 2 test messages")
    assert "resets at" in notice
    assert Message.objects.filter(is_channel_test=True).count() == 2
    assert api.post_json(test_url(slack_channel)).status_code == 429


# --- Tests through the platform's mail -------------------------------------------------


def test_a_platform_mail_test_to_a_stranger_is_refused(api, platform_mail, smtp):
    response = api.post_json(test_url(platform_mail), {"recipient": "victim@example.org"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "test_recipient_not_allowed"
    assert error["details"]["recipient"] == "victim@example.org"
    assert not Message.objects.exists()


def test_a_platform_mail_test_via_a_contact_with_a_strangers_address_is_refused(
    api, account, platform_mail
):
    Contact.objects.create(
        account=account, identifier="victim", addresses={"email": "victim@example.org"}
    )

    response = api.post_json(test_url(platform_mail), {"recipient": "victim"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "test_recipient_not_allowed"


def test_a_platform_mail_test_reaches_a_members_verified_address_only(
    api, account, owner, platform_mail, smtp
):
    verified = User.objects.create_user(email="ops@acme.test", password="x-y-z-1-2-3")
    EmailAddress.objects.create(user=verified, email=verified.email, verified=True)
    unverified = User.objects.create_user(email="new@acme.test", password="x-y-z-1-2-3")
    EmailAddress.objects.create(user=unverified, email=unverified.email, verified=False)
    for user in (verified, unverified):
        Membership.objects.create(user=user, account=account, role=Membership.Role.MEMBER)

    to_owner = api.post_json(test_url(platform_mail), {"recipient": owner.email.upper()})
    to_member = api.post_json(test_url(platform_mail), {"recipient": "ops@acme.test"})
    to_unverified = api.post_json(test_url(platform_mail), {"recipient": "new@acme.test"})

    assert to_owner.status_code == 202 and to_member.status_code == 202
    assert to_unverified.status_code == 400
    assert to_unverified.json()["error"]["code"] == "test_recipient_not_allowed"
    # Attempted at once, one after the other: unpaced, or the second would wait for the
    # platform mail's next token (the subject here is who may be sent a test).
    unpaced(platform_mail)
    for answer in (to_owner, to_member):
        assert attempt(answer.json()["delivery_id"]).status == "sent"
    assert [m["to"] for m in smtp.messages] == [[owner.email.upper()], ["ops@acme.test"]]


def test_the_dashboard_refuses_a_platform_mail_test_to_a_stranger(owner_client, platform_mail):
    response = owner_client.post("/channels/email/test/", {"test-email-recipient": "x@evil.test"})

    [notice] = [str(m) for m in get_messages(response.wsgi_request)]
    assert notice.startswith("Test not sent: A test through the platform's mail goes only to")
    assert not Message.objects.exists()


def test_a_test_through_the_accounts_own_smtp_may_go_anywhere(api, channels, smtp):
    response = api.post_json(test_url(channels["email"]), {"recipient": "anyone@example.org"})

    assert response.status_code == 202
    assert attempt(response.json()["delivery_id"]).status == "sent"


# --- The owner must be verified to use the platform's mail -----------------------------


def unverify(user: User) -> None:
    EmailAddress.objects.filter(user=user).update(verified=False)


def test_an_unverified_owner_cannot_send_through_the_platform_mail(
    api, owner, platform_mail, slack_channel
):
    unverify(owner)
    body = {"message": "hi", "channels": ["email"], "recipient": "customer@example.org"}

    refused = api.post_json("/api/v1/send", body)
    as_fallback = api.post_json(
        "/api/v1/send", {**body, "channels": ["slack"], "fallback_channels": ["email"]}
    )
    test = api.post_json(test_url(platform_mail), {"recipient": owner.email})

    for response in (refused, as_fallback, test):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "owner_not_verified"
    assert "verified" in refused.json()["error"]["message"]
    assert not Message.objects.exists()
    assert api.get("/api/v1/account").json()["usage"]["used"] == 0
    # Channels that are not the platform's mail are not affected.
    slack_only = api.post_json("/api/v1/send", {**body, "channels": ["slack"]})
    assert slack_only.status_code == 202


def test_once_the_owner_verifies_the_platform_mail_works(api, owner, platform_mail, smtp):
    unverify(owner)
    body = {"message": "hi", "channels": ["email"], "recipient": "customer@example.org"}
    assert api.post_json("/api/v1/send", body).status_code == 403

    EmailAddress.objects.filter(user=owner).update(verified=True)
    accepted = api.post_json("/api/v1/send", body)

    assert accepted.status_code == 202
    assert attempt(accepted.json()["deliveries"][0]["id"]).status == "sent"


def test_an_unverified_owners_own_smtp_still_sends(api, owner, channels):
    unverify(owner)
    body = {"message": "hi", "channels": ["email"], "recipient": "customer@example.org"}

    assert api.post_json("/api/v1/send", body).status_code == 202


def test_an_inbound_event_for_the_platform_mail_fails_with_the_reason(
    account, owner, platform_mail
):
    unverify(owner)
    endpoint = InboundEndpoint.objects.create(
        account=account,
        name="alerts",
        verification="none",
        token="tok",
        token_hash="h" * 64,
        rules=[
            {
                "event": "*",
                "message": "{{ text }}",
                "subject": "",
                "recipient": "customer@example.org",
                "channels": ["email"],
                "fallback_channels": [],
            }
        ],
    )
    event = InboundEvent.objects.create(
        account=account,
        endpoint=endpoint,
        event_type="alert",
        dedup_key="d1",
        headers={},
        body=json.dumps({"event": "alert", "text": "disk full"}).encode(),
        content_type="application/json",
    )

    processing.process(event.pk)

    event.refresh_from_db()
    assert event.status == InboundEvent.Status.FAILED
    assert "owner has verified their email" in event.error
    assert not Delivery.objects.exists()


def test_owners_made_by_create_account_count_as_verified(db, smtp, settings):
    call_command("create_account", "ops@example.com", password="a-long-demo-password")
    user = User.objects.get(email="ops@example.com")
    account = user.accounts.get()
    assert EmailAddress.objects.get(user=user).verified
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
    ChannelConfig.objects.create(account=account, kind="email", config={})
    from channels_app.accepting import accept_message

    accepted = accept_message(
        account, {"message": "hi", "channels": ["email"], "recipient": "c@example.org"}
    )

    assert accepted.body["deliveries"][0]["status"] == "queued"


def test_a_signed_up_owner_uses_the_platform_mail_only_after_confirming(client, db):
    # An address no other test signs up with: allauth rate-limits confirmation mails per
    # address in the cache, which outlives a test.
    client.post(
        "/accounts/signup/",
        {
            "email": "platform-mail-owner@example.com",
            "password1": "a-long-and-unusual-pass",
            "password2": "a-long-and-unusual-pass",
        },
    )
    user = User.objects.get(email="platform-mail-owner@example.com")
    account = user.accounts.get()
    ChannelConfig.objects.create(account=account, kind="email", config={})
    from channels_app.accepting import accept_message
    from oneping.errors import ServiceError

    body = {"message": "hi", "channels": ["email"], "recipient": "c@example.org"}
    with pytest.raises(ServiceError) as refused:
        accept_message(account, body)
    assert refused.value.code == "owner_not_verified"
    assert refused.value.status == 403

    EmailAddress.objects.filter(user=user).update(verified=True)  # the confirmation link
    assert accept_message(account, body).body["deliveries"][0]["status"] == "queued"


def test_concurrent_tests_never_pass_the_daily_cap(transactional_db, slack, settings):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from accounts import api_keys, services
    from tests.conftest import ApiClient

    settings.ONEPING_TEST_SENDS_PER_DAY = 3
    _, account = services.create_user_with_account(
        email="race@example.com", password="correct-horse-battery", account_name="Race"
    )
    _, key = api_keys.issue_key(account, "race")
    channel = ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": f"{slack.url}/services/T/B/X"}
    )

    def test_once(n: int) -> int:
        try:
            return ApiClient(key).post_json(test_url(channel)).status_code
        finally:
            connection.close()  # each thread has its own connection; give it back

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(test_once, range(12)))

    assert sorted(answers) == [202] * 3 + [429] * 9
    assert Message.objects.filter(account=account, is_channel_test=True).count() == 3
