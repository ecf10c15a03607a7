"""The sms and whatsapp kinds on the dashboard: their channel cards (setup steps and fields
from the integrations), saving either WhatsApp provider, the test-send button with a phone
number, contacts' phone fields and the segments on the message page."""

from channels_app.models import ChannelConfig, Contact, Delivery
from tests.fakes_phones import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    SMS_CONFIG,
    VERIFY_TOKEN,
    WHATSAPP_META_CONFIG,
    WHATSAPP_TWILIO_CONFIG,
)


def form_data(kind: str, values: dict) -> dict:
    return {f"{kind}-{key}": value for key, value in values.items()}


def test_the_channel_page_has_a_card_per_phone_kind_with_its_setup_steps(owner_client):
    page = owner_client.get("/channels/").content.decode()

    for kind in ("sms", "whatsapp"):
        assert f'id="channel-{kind}"' in page
        assert f'name="{kind}-account_sid"' in page
        assert f'name="{kind}-auth_token"' in page
        assert f'name="{kind}-from"' in page
    assert 'name="sms-messaging_service_sid"' in page
    for field in ("phone_number_id", "access_token", "app_secret", "verify_token"):
        assert f'name="whatsapp-{field}"' in page
    # Where to find the credentials, rendered from the integrations' setup_help.
    assert "<em>Account Info</em>" in page
    assert "<em>Phone number ID</em>" in page
    assert "<em>App secret</em>" in page


def test_saving_whatsapp_with_meta_keeps_only_metas_fields(owner_client, account):
    values = {**WHATSAPP_META_CONFIG, "account_sid": "AC-left-over", "from": "+14155550100"}

    response = owner_client.post("/channels/whatsapp/save/", form_data("whatsapp", values))

    assert response.status_code == 302
    assert ChannelConfig.objects.get(kind="whatsapp").config == WHATSAPP_META_CONFIG


def test_updating_from_the_dashboard_keeps_secrets_left_empty(owner_client, account):
    channel = ChannelConfig.objects.create(
        account=account, kind="whatsapp", config=WHATSAPP_META_CONFIG
    )
    page = owner_client.get("/channels/").content.decode()
    assert ACCESS_TOKEN not in page and APP_SECRET not in page and VERIFY_TOKEN not in page

    values = {"provider": "meta", "phone_number_id": "106540352249999"}
    response = owner_client.post("/channels/whatsapp/save/", form_data("whatsapp", values))

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.config == {**WHATSAPP_META_CONFIG, "phone_number_id": "106540352249999"}
    assert channel.config["phone_number_id"] != PHONE_NUMBER_ID


def test_a_bad_sms_config_is_shown_next_to_its_field(owner_client, account):
    values = {**SMS_CONFIG, "from": "+1 415"}

    response = owner_client.post("/channels/sms/save/", form_data("sms", values))

    assert response.status_code == 400
    [form] = [card["form"] for card in response.context["cards"] if card["form"].is_bound]
    assert list(form.errors) == ["from"]
    assert "too short" in form.errors["from"][0]
    assert not ChannelConfig.objects.exists()


def test_the_test_button_sends_to_a_phone_number(owner_client, account):
    ChannelConfig.objects.create(account=account, kind="whatsapp", config=WHATSAPP_TWILIO_CONFIG)

    response = owner_client.post(
        "/channels/whatsapp/test/", {"test-whatsapp-recipient": "+1 415 555 0199"}
    )

    delivery = Delivery.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/{delivery.pk}/")
    assert (delivery.channel, delivery.target) == ("whatsapp", "+14155550199")
    assert delivery.message.is_channel_test


def test_the_contact_form_has_phone_fields_that_normalise(owner_client, account):
    page = owner_client.get("/contacts/new/").content.decode()
    assert 'name="sms"' in page and 'name="whatsapp"' in page and 'type="tel"' in page

    response = owner_client.post(
        "/contacts/new/", {"identifier": "jane", "sms": "+44 20 7946 0958", "whatsapp": ""}
    )

    assert response.status_code == 302
    assert Contact.objects.get().addresses == {"sms": "+442079460958"}


def test_the_message_page_shows_an_sms_deliverys_segments(owner_client, account):
    ChannelConfig.objects.create(account=account, kind="sms", config=SMS_CONFIG)
    owner_client.post("/channels/sms/test/", {"test-sms-recipient": "+14155550199"})
    delivery = Delivery.objects.get()

    page = owner_client.get(f"/messages/{delivery.message_id}/").content.decode()

    assert "1 segment<" in page


def test_the_message_page_shows_the_template_a_send_named(api, owner_client, account):
    ChannelConfig.objects.create(account=account, kind="whatsapp", config=WHATSAPP_META_CONFIG)
    template = {"name": "order_shipped", "language": "en_US", "variables": ["Jane"]}
    body = api.post_json(
        "/api/v1/send",
        {
            "message": "Hi Jane, your order has shipped",
            "channels": ["whatsapp"],
            "recipient": "+14155550199",
            "channel_options": {"whatsapp": {"template": template}},
        },
    ).json()

    page = owner_client.get(f"/messages/{body['id']}/").content.decode()

    assert "Hi Jane, your order has shipped" in page
    assert "Channel options" in page and "order_shipped" in page
