"""The sms and whatsapp kinds at the API's door (no worker: nothing is sent here): their
configs and write-only secrets, phone-number recipients, SMS segments and the 10-segment
limit, WhatsApp text limits, `channel_options` and its templates, the OpenAPI document,
and an inbound rule reaching SMS through the same accept path."""

import pytest
from django.test import Client

from channels_app.models import ChannelConfig, Contact, Delivery, Message
from tests.conftest import post_send
from tests.fakes_phones import (
    ACCESS_TOKEN,
    APP_SECRET,
    AUTH_TOKEN,
    CONTENT_SID,
    MESSAGING_SERVICE_SID,
    SECRETS,
    SMS_CONFIG,
    TO,
    VERIFY_TOKEN,
    WHATSAPP_META_CONFIG,
    WHATSAPP_TWILIO_CONFIG,
)


def error_of(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


def send_sms(api, message: str = "Hello", **fields):
    return post_send(api, message, channels=["sms"], recipient=TO, **fields)


# --- Channel configs ----------------------------------------------------------------------


def test_an_sms_channel_is_created_with_its_token_masked(api, db):
    created = api.post_json("/api/v1/channels", {"kind": "sms", "config": SMS_CONFIG})

    assert created.status_code == 201, created.json()
    assert created.json()["config"] == {**SMS_CONFIG, "auth_token": f"…{AUTH_TOKEN[-4:]}"}
    listed = api.get("/api/v1/channels").content.decode()
    assert AUTH_TOKEN not in listed
    assert ChannelConfig.objects.get().config == SMS_CONFIG  # stored whole (encrypted)


def test_the_sms_provider_defaults_to_twilio_and_from_is_normalised(api, db):
    config = {k: v for k, v in SMS_CONFIG.items() if k != "provider"}
    config["from"] = "+1 (415) 555-0100"

    created = api.post_json("/api/v1/channels", {"kind": "sms", "config": config})

    assert created.status_code == 201, created.json()
    assert ChannelConfig.objects.get().config == SMS_CONFIG


def test_updating_an_sms_channel_without_the_token_keeps_it(api, sms_channel):
    changed = {k: v for k, v in SMS_CONFIG.items() if k != "auth_token"}
    changed["from"] = "+14155550111"

    response = api.patch(
        f"/api/v1/channels/{sms_channel.pk}", {"config": changed}, "application/json"
    )

    assert response.status_code == 200, response.json()
    sms_channel.refresh_from_db()
    assert sms_channel.config == {**SMS_CONFIG, "from": "+14155550111"}


def test_a_whatsapp_channel_takes_either_provider(api, db):
    meta = api.post_json("/api/v1/channels", {"kind": "whatsapp", "config": WHATSAPP_META_CONFIG})

    assert meta.status_code == 201, meta.json()
    shown = meta.json()["config"]
    assert shown["phone_number_id"] == WHATSAPP_META_CONFIG["phone_number_id"]
    for secret in ("access_token", "app_secret", "verify_token"):
        assert shown[secret].startswith("…")
    assert not any(secret in meta.content.decode() for secret in SECRETS)


def test_a_twilio_whatsapp_sender_may_carry_its_prefix(api, db):
    config = {**WHATSAPP_TWILIO_CONFIG, "from": "whatsapp:+14155550100"}

    created = api.post_json("/api/v1/channels", {"kind": "whatsapp", "config": config})

    assert created.status_code == 201, created.json()
    assert ChannelConfig.objects.get().config["from"] == "+14155550100"


def test_switching_whatsapp_provider_drops_the_other_providers_secrets(
    api, whatsapp_twilio_channel
):
    url = f"/api/v1/channels/{whatsapp_twilio_channel.pk}"
    # Meta's secrets are needed: Twilio's token is not carried over in their place.
    half = {"provider": "meta", "phone_number_id": "106540352242922"}
    error = error_of(api.patch(url, {"config": half}, "application/json"))
    assert error["message"].startswith("config.access_token: ")

    response = api.patch(url, {"config": WHATSAPP_META_CONFIG}, "application/json")

    assert response.status_code == 200, response.json()
    whatsapp_twilio_channel.refresh_from_db()
    assert whatsapp_twilio_channel.config == WHATSAPP_META_CONFIG


@pytest.mark.parametrize(
    ("kind", "config", "field", "words"),
    [
        ("sms", {**SMS_CONFIG, "account_sid": "AC123"}, "account_sid", "AC and 32"),
        ("sms", {**SMS_CONFIG, "auth_token": "short"}, "auth_token", "32 hexadecimal"),
        ("sms", {**SMS_CONFIG, "from": "4155550100"}, "from", "leading +"),
        ("sms", {**SMS_CONFIG, "from": "+1 415"}, "from", "too short"),
        (
            "sms",
            {**SMS_CONFIG, "messaging_service_sid": MESSAGING_SERVICE_SID},
            "messaging_service_sid",
            "not both",
        ),
        ("sms", {**SMS_CONFIG, "messaging_service_sid": "MG1"}, "messaging_service_sid", None),
        ("sms", {**SMS_CONFIG, "provider": "vonage"}, "provider", "Twilio"),
        ("sms", {**SMS_CONFIG, "region": "US"}, "region", "Unknown field"),
        ("whatsapp", {k: v for k, v in SMS_CONFIG.items() if k != "provider"}, "provider", None),
        ("whatsapp", {**WHATSAPP_META_CONFIG, "app_secret": "nope"}, "app_secret", "32"),
        ("whatsapp", {**WHATSAPP_META_CONFIG, "phone_number_id": "+1415"}, "phone_number_id", None),
        ("whatsapp", {**WHATSAPP_META_CONFIG, "auth_token": AUTH_TOKEN}, "auth_token", "meta"),
        ("whatsapp", {**WHATSAPP_TWILIO_CONFIG, "verify_token": "x"}, "verify_token", "twilio"),
    ],
)
def test_bad_configs_name_the_field(api, db, kind, config, field, words):
    error = error_of(api.post_json("/api/v1/channels", {"kind": kind, "config": config}))

    assert error["message"].startswith(f"config.{field}: ")
    if words:
        assert words in error["message"]
    for secret in (AUTH_TOKEN, ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret not in error["message"]
    assert not ChannelConfig.objects.exists()


# --- Recipients ---------------------------------------------------------------------------


def test_a_phone_number_recipient_is_normalised(api, sms_channel):
    response = post_send(api, "Hi", channels=["sms"], recipient="+1 (415) 555-0199")

    assert response.status_code == 202, response.json()
    delivery = Delivery.objects.get()
    assert (delivery.target, delivery.address) == (TO, TO)


@pytest.mark.parametrize(
    ("recipient", "reason"),
    [
        ("+1 415", "it is too short"),
        ("415 555 0199", "it needs a leading + and its country code"),
        ("+999 1234 5678", "its country code is not valid"),
    ],
)
def test_an_unusable_number_is_unresolved_naming_the_reason(api, sms_channel, recipient, reason):
    error = error_of(post_send(api, "Hi", channels=["sms"], recipient=recipient))

    assert error["code"] == "recipient_unresolved"
    assert reason in error["message"]
    assert error["details"]["channel"] == "sms"
    assert error["details"]["reason"].startswith(reason)
    assert not Message.objects.exists()


def test_a_name_without_a_contact_is_unresolved_with_the_hint(api, sms_channel):
    error = error_of(post_send(api, "Hi", channels=["sms"], recipient="jane"))

    assert error["code"] == "recipient_unresolved"
    assert "addresses.sms" in error["message"]


def test_with_a_default_region_national_numbers_resolve(api, sms_channel, settings):
    settings.ONEPING_DEFAULT_REGION = "GB"

    response = post_send(api, "Hi", channels=["sms"], recipient="020 7946 0958")

    assert response.status_code == 202, response.json()
    assert Delivery.objects.get().target == "+442079460958"


def test_contacts_phone_addresses_are_stored_in_e164(api, db):
    response = api.post_json(
        "/api/v1/contacts",
        {"identifier": "jane", "addresses": {"sms": "+44 20 7946 0958", "whatsapp": TO}},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["addresses"] == {"sms": "+442079460958", "whatsapp": TO}
    bad = error_of(
        api.post_json("/api/v1/contacts", {"identifier": "joe", "addresses": {"sms": "12"}})
    )
    assert bad["message"].startswith("addresses.sms: ")
    assert "leading +" in bad["message"]
    assert Contact.objects.count() == 1


# --- Lengths ------------------------------------------------------------------------------


def test_segments_are_counted_on_the_delivery_at_acceptance(api, sms_channel):
    assert send_sms(api, "€" * 81).status_code == 202  # extension characters: 162 septets

    assert Delivery.objects.get().segments == 2


@pytest.mark.parametrize(
    ("fits", "too_long", "encoding", "segments"),
    [
        ("a" * 1530, "a" * 1531, "GSM-7", 11),  # 10 segments of 153 septets
        ("ć" * 670, "ć" * 671, "UCS-2", 11),  # 10 segments of 67 code units
        # Surrogate pairs, two units each, never split: 33 emoji a segment.
        ("😀" * 330, "😀" * 331, "UCS-2", 11),
    ],
)
def test_more_than_10_segments_is_message_too_long(
    api, sms_channel, fits, too_long, encoding, segments
):
    error = error_of(send_sms(api, too_long))

    assert error["code"] == "message_too_long"
    assert error["details"] == {
        "channel": "sms",
        "segments": segments,
        "encoding": encoding,
        "max_segments": 10,
    }
    assert send_sms(api, fits).status_code == 202
    assert Delivery.objects.get().segments == 10


@pytest.mark.parametrize(
    ("fixture_name", "limit"), [("whatsapp_meta_channel", 4096), ("whatsapp_twilio_channel", 1600)]
)
def test_whatsapp_takes_its_providers_text_limit(api, request, fixture_name, limit):
    request.getfixturevalue(fixture_name)

    error = error_of(post_send(api, "x" * (limit + 1), channels=["whatsapp"], recipient=TO))

    assert error["code"] == "message_too_long"
    assert error["details"] == {"channel": "whatsapp", "limit": limit, "length": limit + 1}
    ok = post_send(api, "x" * limit, channels=["whatsapp"], recipient=TO)
    assert ok.status_code == 202
    assert Delivery.objects.get().segments is None


# --- channel_options ----------------------------------------------------------------------

META_TEMPLATE = {"name": "order_shipped", "language": "en_US", "variables": ["Jane"]}
TWILIO_TEMPLATE = {"content_sid": CONTENT_SID, "variables": {"1": "Jane"}}


def send_whatsapp(api, options, **fields):
    body = {"channels": ["whatsapp"], "recipient": TO, "channel_options": options, **fields}
    return post_send(api, "Hi Jane", **body)


def test_a_template_is_stored_with_the_message(api, whatsapp_meta_channel):
    response = send_whatsapp(api, {"whatsapp": {"template": META_TEMPLATE}})

    assert response.status_code == 202, response.json()
    assert Message.objects.get().channel_options == {"whatsapp": {"template": META_TEMPLATE}}


def test_a_template_may_ride_on_a_fallback(api, sms_channel, whatsapp_twilio_channel):
    response = post_send(
        api,
        "Hi Jane",
        channels=["sms"],
        fallback_channels=["whatsapp"],
        recipient=TO,
        channel_options={"whatsapp": {"template": TWILIO_TEMPLATE}},
    )

    assert response.status_code == 202, response.json()
    assert Message.objects.get().channel_options == {"whatsapp": {"template": TWILIO_TEMPLATE}}


@pytest.mark.parametrize(
    ("fixture_name", "options", "code", "path"),
    [
        # The shape of the other provider's template.
        (
            "whatsapp_twilio_channel",
            {"whatsapp": {"template": META_TEMPLATE}},
            "invalid_channel_options",
            "channel_options.whatsapp.template.name",
        ),
        (
            "whatsapp_meta_channel",
            {"whatsapp": {"template": TWILIO_TEMPLATE}},
            "invalid_channel_options",
            "channel_options.whatsapp.template.content_sid",
        ),
        (
            "whatsapp_meta_channel",
            {"whatsapp": {"template": {**META_TEMPLATE, "language": "English"}}},
            "invalid_channel_options",
            "channel_options.whatsapp.template.language",
        ),
        (
            "whatsapp_meta_channel",
            {"whatsapp": {"template": {"language": "en"}}},
            "invalid_channel_options",
            "channel_options.whatsapp.template.name",
        ),
        (
            "whatsapp_meta_channel",
            {"whatsapp": {"template": {**META_TEMPLATE, "variables": [1]}}},
            "invalid_channel_options",
            "channel_options.whatsapp.template.variables",
        ),
        (
            "whatsapp_twilio_channel",
            {"whatsapp": {"template": {"content_sid": "HX1"}}},
            "invalid_channel_options",
            "channel_options.whatsapp.template.content_sid",
        ),
        (
            "whatsapp_twilio_channel",
            {"whatsapp": {"template": {**TWILIO_TEMPLATE, "variables": ["Jane"]}}},
            "invalid_channel_options",
            "channel_options.whatsapp.template.variables",
        ),
        (
            "whatsapp_meta_channel",
            {"whatsapp": {"template": "order_shipped"}},
            "invalid_channel_options",
            "channel_options.whatsapp.template",
        ),
        (
            "whatsapp_meta_channel",
            {"whatsapp": {"buttons": []}},
            "invalid_channel_options",
            "channel_options.whatsapp.buttons",
        ),
        (
            "whatsapp_meta_channel",
            {"whatsapp": "template"},
            "invalid_channel_options",
            "channel_options.whatsapp",
        ),
        # Options for a channel this send does not use, or that takes none, or no channel.
        ("whatsapp_meta_channel", {"sms": {}}, "invalid_channel_options", "channel_options.sms"),
        ("whatsapp_meta_channel", {"fax": {}}, "unknown_channel", "channel_options.fax"),
    ],
)
def test_bad_channel_options_are_400_naming_the_field(
    api, request, fixture_name, options, code, path
):
    request.getfixturevalue(fixture_name)

    error = error_of(send_whatsapp(api, options))

    assert error["code"] == code
    assert error["message"].startswith(f"{path}: "), error["message"]
    assert not Message.objects.exists()


def test_a_kind_without_options_refuses_them(api, sms_channel):
    error = error_of(send_sms(api, channel_options={"sms": {"template": {}}}))

    assert error["code"] == "invalid_channel_options"
    assert (
        error["message"]
        == "channel_options.sms.template: The sms channel takes no channel_options."
    )
    assert error["details"]["fields"] == {
        "channel_options": {"sms": {"template": ["The sms channel takes no channel_options."]}}
    }


def test_the_schema_documents_channel_options(client, db):
    document = client.get("/api/schema/?format=json").json()

    send_request = document["components"]["schemas"]["SendRequest"]
    options = send_request["properties"]["channel_options"]
    assert set(options["properties"]) == {"whatsapp"}
    template = options["properties"]["whatsapp"]["properties"]["template"]
    shapes = {tuple(sorted(shape["required"])) for shape in template["oneOf"]}
    assert shapes == {("content_sid",), ("language", "name")}


# --- The other doors: inbound rules and the dashboard ------------------------------------


def test_an_inbound_rule_sends_an_sms_through_the_same_accept_path(api, sms_channel):
    from webhooks.inbound import processing
    from webhooks.models import InboundEvent

    endpoint = api.post_json(
        "/api/v1/inbound-endpoints",
        {
            "name": "alerts",
            "verification": "none",
            "rules": [
                {
                    "event": "*",
                    "message": "Alert: {{ title }}",
                    "channels": ["sms"],
                    "recipient": "{{ phone }}",
                }
            ],
        },
    ).json()
    path = endpoint["url"].split("testserver", 1)[-1]
    answer = Client().post(
        path, {"title": "disk full", "phone": "+1 415 555 0199"}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content

    processing.process(InboundEvent.objects.get().pk)

    event = InboundEvent.objects.get()
    assert event.status == "processed", event.error
    delivery = Delivery.objects.get()
    assert (delivery.channel, delivery.target, delivery.segments) == ("sms", TO, 1)
    assert Message.objects.get().body == "Alert: disk full"
