"""Each integration's pacing (#19): the buckets a delivery takes tokens from (scopes, rates
from the provider's docs, cost), the channel config's max_per_second through the API and
the dashboard, Discord's rate-limit headers, and bucket keys that never hold a secret."""

import time

import pytest

from channels_app import pacing
from channels_app.integrations import get_integration
from channels_app.integrations.base import Outgoing, TransportError
from channels_app.models import ChannelConfig, Delivery
from tests.conftest import TELEGRAM_TOKEN, send
from tests.fakes import Canned, FakeDiscord
from tests.fakes_phones import (
    ACCESS_TOKEN,
    AUTH_TOKEN,
    FROM,
    SMS_CONFIG,
    WHATSAPP_META_CONFIG,
    WHATSAPP_TWILIO_CONFIG,
    form_of,
)
from tests.test_same_errors_channels import STORED_SMTP

SLACK_URL = "https://hooks.slack.com/services/T0/B0/slack-secret-part"
DISCORD_URL = "https://discord.com/api/webhooks/1/discord-secret-part"
SMTP_CONFIG = {"provider": "smtp", **STORED_SMTP}
POSTMARK_CONFIG = {
    "provider": "postmark",
    "server_token": "postmark-server-token-0001",
    "from_email": "alerts@acme.test",
}
MESSAGING_SERVICE = "MG" + "a" * 32
RECIPIENT = "+14155550123"
OTHER_RECIPIENT = "+14155550124"


def buckets(kind: str, config: dict, target: str = "") -> list[tuple[str, float, int]]:
    """(scope, rate, burst) of each bucket, most specific first."""
    return [(b.scope, b.rate, b.burst) for b in get_integration(kind).pacing(config, target)]


def keys(kind: str, config: dict, target: str = "") -> list[str]:
    return [b.key(kind) for b in get_integration(kind).pacing(config, target)]


# --- The buckets each kind declares ------------------------------------------------------


@pytest.mark.parametrize(
    ("chat", "chat_rate"),
    [
        ("4242", 1.0),  # a user's private chat: about 1 a second
        ("-4242", 20 / 60),  # a group: 20 a minute
        ("-1001234567890", 20 / 60),  # a supergroup or a channel
        ("@acme_news", 20 / 60),  # a public channel by its username
    ],
)
def test_telegram_paces_the_chat_by_its_kind_then_the_bot(chat, chat_rate):
    config = {"bot_token": TELEGRAM_TOKEN}

    assert buckets("telegram", config, chat) == [("chat", chat_rate, 1), ("bot", 30.0, 1)]


def test_telegram_max_per_second_sets_the_chat_rate_not_the_bots():
    config = {"bot_token": TELEGRAM_TOKEN, "max_per_second": 0.25}

    assert buckets("telegram", config, "4242") == [("chat", 0.25, 1), ("bot", 30.0, 1)]
    assert buckets("telegram", config, "-100123") == [("chat", 0.25, 1), ("bot", 30.0, 1)]


def test_telegram_chats_have_their_own_buckets_and_share_the_bots():
    config = {"bot_token": TELEGRAM_TOKEN}
    other_bot = {"bot_token": "987654321:" + "B" * 35}

    first_chat, first_bot = keys("telegram", config, "4242")
    second_chat, second_bot = keys("telegram", config, "4343")
    other_bots_chat, _ = keys("telegram", other_bot, "4242")

    assert first_chat != second_chat
    assert first_bot == second_bot
    # The same chat through another bot: Telegram counts per bot, so another bucket.
    assert other_bots_chat != first_chat


def test_telegram_paces_the_default_chat_when_the_target_is_empty():
    config = {"bot_token": TELEGRAM_TOKEN, "default_chat_id": "-100123"}

    assert keys("telegram", config, "") == keys("telegram", config, "-100123")
    assert buckets("telegram", config, "")[0] == ("chat", 20 / 60, 1)


@pytest.mark.parametrize(
    ("kind", "url", "rate"),
    [("slack", SLACK_URL, 1.0), ("discord", DISCORD_URL, 2.0)],
)
def test_webhooks_are_paced_per_url(kind, url, rate):
    config = {"webhook_url": url}
    contact_url = url.replace("secret-part", "contact-part")

    assert buckets(kind, config) == [("webhook", rate, 1)]
    assert buckets(kind, {**config, "max_per_second": 4}) == [("webhook", 4.0, 1)]
    assert keys(kind, config, "") == keys(kind, {"webhook_url": url}, url)
    assert keys(kind, config, contact_url) != keys(kind, config, "")


@pytest.mark.parametrize("sender", ["from", "messaging_service_sid"])
def test_sms_paces_the_sender_in_segments(sender):
    config = dict(SMS_CONFIG)
    if sender == "messaging_service_sid":
        config = {**config, "messaging_service_sid": MESSAGING_SERVICE}
        del config["from"]
    sms = get_integration("sms")

    assert buckets("sms", config, RECIPIENT) == [("sender", 1.0, 1)]
    assert buckets("sms", {**config, "max_per_second": 3}, RECIPIENT) == [("sender", 3.0, 1)]
    # Every recipient shares the sender's bucket; a 3-segment text takes 3 tokens.
    assert keys("sms", config, RECIPIENT) == keys("sms", config, OTHER_RECIPIENT)
    assert sms.pacing_cost(3) == 3.0
    assert sms.pacing_cost(1) == 1.0
    assert sms.pacing_cost(None) == 1.0


def test_sms_senders_have_their_own_buckets_and_strangers_do_not_share_them():
    service = {k: v for k, v in SMS_CONFIG.items() if k != "from"}
    service["messaging_service_sid"] = MESSAGING_SERVICE
    # Another account naming the same (public) number with other credentials.
    stranger = {**SMS_CONFIG, "auth_token": "f" * 32}

    assert keys("sms", SMS_CONFIG) != keys("sms", service)
    assert keys("sms", SMS_CONFIG) != keys("sms", stranger)


@pytest.mark.parametrize(
    ("config", "sender_rate"),
    [(WHATSAPP_META_CONFIG, 80.0), (WHATSAPP_TWILIO_CONFIG, 10.0)],
    ids=["meta", "twilio"],
)
def test_whatsapp_paces_the_pair_then_the_sender(config, sender_rate):
    pair, sender = keys("whatsapp", config, RECIPIENT)
    other_pair, same_sender = keys("whatsapp", config, OTHER_RECIPIENT)

    assert buckets("whatsapp", config, RECIPIENT) == [
        ("pair", 1 / 6, 1),
        ("sender", sender_rate, 1),
    ]
    assert pair != other_pair
    assert sender == same_sender
    # max_per_second is the sender's: the pair's rate is WhatsApp's own.
    assert buckets("whatsapp", {**config, "max_per_second": 5}, RECIPIENT) == [
        ("pair", 1 / 6, 1),
        ("sender", 5.0, 1),
    ]


def test_email_paces_the_sending_account_at_the_setting(settings):
    settings.ONEPING_PACING_EMAIL_PER_SECOND = 4.0
    other_login = {**SMTP_CONFIG, "username": "billing"}

    assert buckets("email", SMTP_CONFIG, "a@example.com") == [("channel", 4.0, 1)]
    assert buckets("email", {**SMTP_CONFIG, "max_per_second": 0.5}) == [("channel", 0.5, 1)]
    assert keys("email", SMTP_CONFIG, "a@example.com") == keys("email", SMTP_CONFIG, "b@ex.com")
    assert keys("email", SMTP_CONFIG) != keys("email", other_login)
    assert keys("email", POSTMARK_CONFIG) != keys("email", SMTP_CONFIG)


def test_the_platforms_mail_is_one_bucket_for_every_account(settings):
    settings.ONEPING_PACING_EMAIL_PER_SECOND = 7.0

    assert buckets("email", {"provider": "platform"}) == [("channel", 7.0, 1)]
    assert keys("email", {"provider": "platform"}, "a@example.com") == keys(
        "email", {"provider": "platform", "track_opens": True}, "b@example.com"
    )


def test_email_deliveries_are_ordered_per_recipient(api, account, smtp):
    config = {**SMTP_CONFIG, "host": smtp.host, "port": smtp.port}
    ChannelConfig.objects.create(account=account, kind="email", config=config)
    for recipient in ("a@example.com", "b@example.com", "a@example.com"):
        sent = api.post_json(
            "/api/v1/send", {"message": "hi", "channels": ["email"], "recipient": recipient}
        )
        assert sent.status_code == 202, sent.content

    first, second, third = Delivery.objects.order_by("pk").values_list("destination", flat=True)
    assert first and second
    assert first == third
    assert first != second


# --- No secret in a bucket's key -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "target", "secrets"),
    [
        ("telegram", {"bot_token": TELEGRAM_TOKEN}, "4242", [TELEGRAM_TOKEN]),
        ("slack", {"webhook_url": SLACK_URL}, "", [SLACK_URL, "slack-secret-part"]),
        ("discord", {"webhook_url": DISCORD_URL}, "", [DISCORD_URL, "discord-secret-part"]),
        ("sms", SMS_CONFIG, RECIPIENT, [AUTH_TOKEN, FROM, RECIPIENT]),
        ("whatsapp", WHATSAPP_META_CONFIG, RECIPIENT, [ACCESS_TOKEN, RECIPIENT]),
        ("whatsapp", WHATSAPP_TWILIO_CONFIG, RECIPIENT, [AUTH_TOKEN, FROM, RECIPIENT]),
        ("email", SMTP_CONFIG, "a@example.com", ["smtp-pa55word-xyz", "a@example.com"]),
        ("email", POSTMARK_CONFIG, "a@example.com", ["postmark-server-token-0001"]),
    ],
)
def test_no_bucket_key_holds_a_secret(kind, config, target, secrets):
    found = keys(kind, config, target)
    destination = pacing.destination_key("acc_1", kind, target or config.get("webhook_url", ""))

    assert found
    for key in [*found, destination]:
        for secret in secrets:
            assert secret not in key
        assert len(key) <= 80  # a hash, not the material


# --- max_per_second through the API and the dashboard ----------------------------------


def valid_configs() -> dict[str, dict]:
    return {
        "telegram": {"bot_token": TELEGRAM_TOKEN},
        "slack": {"webhook_url": SLACK_URL},
        "discord": {"webhook_url": DISCORD_URL},
        "sms": SMS_CONFIG,
        "whatsapp": WHATSAPP_META_CONFIG,
        "email": SMTP_CONFIG,
    }


KINDS = ["telegram", "slack", "discord", "sms", "whatsapp", "email"]


@pytest.fixture
def private_urls(settings):
    settings.ONEPING_ALLOW_PRIVATE_URLS = True  # the SMTP host is on loopback


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rate", [0.1, 2.5, 10])
def test_max_per_second_is_accepted_and_shown(api, private_urls, kind, rate):
    config = {**valid_configs()[kind], "max_per_second": rate}

    response = api.post_json("/api/v1/channels", {"kind": kind, "config": config})

    assert response.status_code == 201, response.content
    assert response.json()["config"]["max_per_second"] == rate
    assert ChannelConfig.objects.get().config["max_per_second"] == rate
    assert get_integration(kind).pacing(ChannelConfig.objects.get().config, RECIPIENT)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rate", [0, 0.05, 11, "fast", "2", True, None])
def test_a_bad_max_per_second_is_400_naming_it(api, private_urls, kind, rate):
    config = {**valid_configs()[kind], "max_per_second": rate}

    response = api.post_json("/api/v1/channels", {"kind": kind, "config": config})

    if rate is None:  # JSON null: not given, the provider's rate
        assert response.status_code == 201, response.content
        assert "max_per_second" not in response.json()["config"]
        return
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    assert error["message"].startswith("config.max_per_second:")
    assert not ChannelConfig.objects.exists()


def test_whatsapp_through_twilio_takes_max_per_second_too(api):
    config = {**WHATSAPP_TWILIO_CONFIG, "max_per_second": 4}

    response = api.post_json("/api/v1/channels", {"kind": "whatsapp", "config": config})

    assert response.status_code == 201, response.content
    assert response.json()["config"]["max_per_second"] == 4


def test_the_platforms_mail_refuses_max_per_second(api):
    config = {"provider": "platform", "max_per_second": 2}

    response = api.post_json("/api/v1/channels", {"kind": "email", "config": config})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("config.max_per_second: oneping's own mail is paced")
    assert not ChannelConfig.objects.exists()


@pytest.mark.parametrize(
    ("kind", "form"),
    [
        ("telegram", {"bot_token": TELEGRAM_TOKEN}),
        ("slack", {"webhook_url": SLACK_URL}),
        ("discord", {"webhook_url": DISCORD_URL}),
        ("sms", SMS_CONFIG),
        ("whatsapp", WHATSAPP_META_CONFIG),
        ("email", {"provider": "postmark", **POSTMARK_CONFIG}),
    ],
)
def test_the_channel_form_saves_max_per_second_as_a_number(owner_client, kind, form):
    fields = {f"{kind}-{name}": value for name, value in form.items()}

    page = owner_client.get("/channels/").content.decode()
    saved = owner_client.post(
        f"/channels/{kind}/save/", {**fields, f"{kind}-max_per_second": "2.5"}
    )

    assert f'name="{kind}-max_per_second"' in page
    assert saved.status_code == 302, saved.content
    assert ChannelConfig.objects.get().config["max_per_second"] == 2.5
    card = owner_client.get("/channels/").content.decode()
    assert "<code>max_per_second</code> 2.5" in card


def test_the_channel_form_shows_the_apis_error_for_a_bad_rate(owner_client):
    fields = {"telegram-bot_token": TELEGRAM_TOKEN, "telegram-max_per_second": "fast"}

    shown = owner_client.post("/channels/telegram/save/", fields)

    assert shown.status_code == 400
    [form] = [card["form"] for card in shown.context["cards"] if card["form"].is_bound]
    assert list(form.errors) == ["max_per_second"]
    assert "Enter a number of messages a second" in form.errors["max_per_second"][0]
    assert not ChannelConfig.objects.exists()


def test_the_channel_form_leaves_the_rate_out_when_empty(owner_client):
    fields = {"telegram-bot_token": TELEGRAM_TOKEN, "telegram-max_per_second": ""}

    owner_client.post("/channels/telegram/save/", fields)

    assert ChannelConfig.objects.get().config == {"bot_token": TELEGRAM_TOKEN}


def test_the_platforms_mail_form_ignores_a_hidden_rate(owner_client, owner):
    fields = {"email-provider": "platform", "email-max_per_second": "3"}

    saved = owner_client.post("/channels/email/save/", fields)

    assert saved.status_code == 302, saved.content
    assert "max_per_second" not in ChannelConfig.objects.get().config


# --- Discord's rate-limit headers ------------------------------------------------------


@pytest.fixture
def discord_fake():
    fake = FakeDiscord().start()
    yield fake
    fake.stop()


def send_discord(fake: FakeDiscord, *answers: Canned):
    fake.answer(*answers)
    outgoing = Outgoing(text="hi", subject="", target="", message_id="m", delivery_id="d")
    return get_integration("discord").send(
        {"webhook_url": f"{fake.url}/api/webhooks/1/x"}, outgoing
    )


def window(remaining: str, reset_after: str) -> Canned:
    headers = {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": remaining,
        "X-RateLimit-Reset": "1470173023",
        "X-RateLimit-Reset-After": reset_after,
        "X-RateLimit-Bucket": "abcd1234",
    }
    return Canned(200, {"id": "1001", "type": 0}, headers=headers)


def test_discord_pauses_the_webhook_when_its_window_is_used_up(discord_fake, settings):
    settings.ONEPING_ALLOW_PRIVATE_URLS = True

    result = send_discord(discord_fake, window("0", "1.25"))

    assert result.provider_message_id == "1001"
    assert result.pause_for == 1.25


@pytest.mark.parametrize(
    ("remaining", "reset_after", "pause"),
    [
        ("3", "1.5", None),  # room left in the window
        ("0", "soon", None),  # unreadable: the default rate goes on
        ("0", "-1", None),
        ("0", "nan", None),
        ("0", "86400", 300.0),  # not believed past a few minutes
    ],
)
def test_discord_reads_only_sensible_windows(discord_fake, settings, remaining, reset_after, pause):
    settings.ONEPING_ALLOW_PRIVATE_URLS = True

    assert send_discord(discord_fake, window(remaining, reset_after)).pause_for == pause


def test_discord_answers_without_headers_pause_nothing(discord_fake, settings):
    settings.ONEPING_ALLOW_PRIVATE_URLS = True

    assert send_discord(discord_fake).pause_for is None


def test_discords_429_waits_its_retry_after(discord_fake, settings):
    settings.ONEPING_ALLOW_PRIVATE_URLS = True

    with pytest.raises(TransportError) as refused:
        send_discord(discord_fake, FakeDiscord.rate_limited(2.5))

    assert not refused.value.permanent
    assert refused.value.retry_after == 2.5


# --- Through a real worker: SMS in segments, WhatsApp per pair ----------------------------


def arrivals(fake) -> list[float]:
    """When each request reaches the fake provider from now on (time.monotonic())."""
    times: list[float] = []
    respond = fake.respond

    def noted(received):
        times.append(time.monotonic())
        return respond(received)

    fake.respond = noted
    return times


@pytest.mark.usefixtures("celery_worker")
def test_a_long_sms_holds_its_sender_for_each_of_its_segments(api, sms_channel, twilio):
    arrived = arrivals(twilio)
    # Given a 3-segment text to one recipient, then a 1-segment one to another: two
    # destinations, one sender at its default of 1 segment a second.
    long_text = "x" * 400  # GSM-7, 153 a segment: 3 segments
    first = send(api, long_text, channels=["sms"], recipient=RECIPIENT)
    assert Delivery.objects.get(pk=first["deliveries"][0]["id"]).segments == 3
    send(api, "short", channels=["sms"], recipient=OTHER_RECIPIENT)

    twilio.wait_for(2, timeout=30)

    # Then the second leaves only once the sender's queue has let the 3 segments go
    # (3 s at 1 a second, 10 % headroom on top); a message-counted bucket would have let
    # it go after about 1 s.
    gap = arrived[1] - arrived[0]
    assert gap >= 2.5, gap
    assert [form_of(r)["To"] for r in twilio.requests] == [RECIPIENT, OTHER_RECIPIENT]


@pytest.mark.usefixtures("celery_worker")
def test_whatsapp_waits_per_pair_without_holding_the_sender(api, whatsapp_meta_channel, meta):
    arrived = arrivals(meta)
    # Given two messages to one user and then one to another user, from one business number.
    send(api, "first", channels=["whatsapp"], recipient=RECIPIENT)
    send(api, "second", channels=["whatsapp"], recipient=RECIPIENT)
    send(api, "other", channels=["whatsapp"], recipient=OTHER_RECIPIENT)

    meta.wait_for(3, timeout=40)

    # Then the other user's goes while the pair waits out Meta's 6 s, and the second
    # message to the first user leaves only after them. "first" and "other" go to two
    # destinations side by side: which of them a busy machine's workers post first is not
    # the rule, so only the pair's order and wait are.
    texts = [r.json()["text"]["body"] for r in meta.requests]
    assert set(texts[:2]) == {"first", "other"}
    assert texts[2] == "second"
    at = dict(zip(texts, arrived, strict=True))
    assert at["second"] - at["first"] >= 5.0, at["second"] - at["first"]
