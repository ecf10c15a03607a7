"""The channel API shows where a channel's provider reports statuses (#16: Meta's callback
URL is pasted into the Meta app; Twilio is told it with each send), by the one rule for
absolute URLs: ONEPING_PUBLIC_URL when set, else the request's host."""

from tests.fakes_phones import SMS_CONFIG, WHATSAPP_META_CONFIG


def create(api, kind: str, config: dict) -> dict:
    answer = api.post_json("/api/v1/channels", {"kind": kind, "config": config})
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_meta_whatsapp_channel_shows_its_callback_url_on_the_public_url(api, settings):
    settings.ONEPING_PUBLIC_URL = "https://oneping.example.com"
    from channels_app.models import ChannelConfig

    created = create(api, "whatsapp", WHATSAPP_META_CONFIG)

    token = ChannelConfig.objects.get(pk=created["id"]).callback_token
    expected = f"https://oneping.example.com/hooks/providers/whatsapp/{token}/"
    assert created["status_callback_url"] == expected
    listed = api.get(f"/api/v1/channels/{created['id']}").json()
    assert listed["status_callback_url"] == expected


def test_without_a_public_url_the_requests_host_is_used(api, settings):
    settings.ONEPING_PUBLIC_URL = ""
    from channels_app.models import ChannelConfig

    created = create(api, "sms", SMS_CONFIG)

    token = ChannelConfig.objects.get(pk=created["id"]).callback_token
    assert created["status_callback_url"] == f"http://testserver/hooks/providers/twilio/{token}/"


def test_kinds_without_status_reports_show_none(api, slack):
    created = create(api, "slack", {"webhook_url": f"{slack.url}/services/T000/B000/XXXX"})

    assert created["status_callback_url"] is None


def test_the_schema_documents_it(api):
    schema = api.get("/api/schema/?format=json").json()
    field = schema["components"]["schemas"]["ChannelConfig"]["properties"]["status_callback_url"]
    assert field["format"] == "uri" and field["nullable"] is True
    assert field["readOnly"] is True
