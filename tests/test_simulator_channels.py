"""Test mode's channels: every kind available unconfigured (made on the fly by a send),
adopted when created with a test key, and the README walkthrough's channel calls working
unchanged with a test key."""

import json
import re
from pathlib import Path

import pytest

from accounts import environments
from channels_app.integrations import channel_kinds
from channels_app.models import ChannelConfig
from tests.conftest import delivery_ids, post_send, send
from tests.simulator_helpers import op_test_client

README = Path(__file__).resolve().parent.parent / "README.md"
# A walkthrough call creating a channel: `curl -s -X POST $API/channels … -d '{…}'`.
CREATE_CHANNEL = re.compile(r"-X POST \$API/channels -H[^']*-d '(\{.*?\})'", re.DOTALL)


def walkthrough_channels() -> list[dict]:
    walkthrough = README.read_text().split("## The dashboard", 1)[0]
    return [json.loads(body) for body in CREATE_CHANNEL.findall(walkthrough)]


def test_the_readme_walkthrough_creates_its_channels_with_a_test_key(account, db):
    bodies = walkthrough_channels()
    assert {body["kind"] for body in bodies} >= {"slack", "email", "sms", "whatsapp"}
    api = op_test_client(account)
    # Given a send that made some channels on the fly first (the walkthrough run again)
    send(api, "hi", channels=["slack"], fallback_channels=["email"], recipient="x@y.example")

    for body in bodies:
        existing = api.get("/api/v1/channels").json()
        same_kind = [c for c in existing if c["kind"] == body["kind"] and c["config"]]
        for channel in same_kind:  # the walkthrough deletes the email channel it replaces
            assert api.delete(f"/api/v1/channels/{channel['id']}").status_code == 204
        response = api.post_json("/api/v1/channels", body)
        assert response.status_code == 201, (body, response.content)
        assert response.json()["livemode"] is False

    test_environment = environments.test_environment(account)
    kinds = set(
        ChannelConfig.objects.filter(account=test_environment).values_list("kind", flat=True)
    )
    assert kinds >= {body["kind"] for body in bodies}
    assert not ChannelConfig.objects.filter(account=account).exists()


def test_a_channel_made_by_a_send_is_adopted_once(account, db):
    api = op_test_client(account)
    send(api, "hi", channels=["telegram"], recipient="delivered")
    made = ChannelConfig.objects.get(kind="telegram")
    assert made.simulated and made.config == {}

    config = {"bot_token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"}
    adopted = api.post_json("/api/v1/channels", {"kind": "telegram", "config": config})
    assert adopted.status_code == 201, adopted.content
    assert adopted.json()["id"] == made.pk
    made.refresh_from_db()
    assert not made.simulated and made.config == config

    again = api.post_json("/api/v1/channels", {"kind": "telegram", "config": config})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "channel_already_configured"


def test_a_test_channel_is_validated_as_a_live_one(account, db):
    api = op_test_client(account)
    response = api.post_json("/api/v1/channels", {"kind": "slack", "config": {}})
    assert response.status_code == 400
    assert "webhook_url" in response.json()["error"]["message"]


def test_every_unconfigured_kind_is_listed_and_shown(account, db):
    api = op_test_client(account)
    for kind in channel_kinds():
        recipient = {"email": "a@b.example", "sms": "+14155550100", "whatsapp": "+14155550100"}
        send(api, "hi", channels=[kind], recipient=recipient.get(kind, "delivered"))
    listed = api.get("/api/v1/channels")
    assert listed.status_code == 200, listed.content
    assert sorted(channel["kind"] for channel in listed.json()) == sorted(channel_kinds())
    for channel in listed.json():
        shown = api.get(f"/api/v1/channels/{channel['id']}")
        assert shown.status_code == 200, shown.content
        # Paced by the simulator's own bucket, not the kind's provider rates.
        assert [rate["scope"] for rate in shown.json()["pacing"]["rates"]] == ["simulated"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"channels": ["email"], "recipient": "not-an-address"}, "recipient_unresolved"),
        ({"channels": ["sms"], "recipient": "+1 415 555"}, "recipient_unresolved"),
        ({"channels": ["whatsapp"], "recipient": "+14155550100", "message": "x" * 5000}, None),
    ],
)
def test_unconfigured_channels_keep_the_live_checks(account, db, fields, code):
    api = op_test_client(account)
    response = post_send(api, **fields)
    assert response.status_code == 400, response.content
    if code:
        assert response.json()["error"]["code"] == code
    else:
        assert response.json()["error"]["code"] == "message_too_long"


def test_an_unconfigured_whatsapp_takes_a_template(account, db):
    api = op_test_client(account)
    template = {"content_sid": "HX" + "0" * 32, "variables": {"1": "Jane"}}
    accepted = send(
        api,
        "Hi Jane",
        channels=["whatsapp"],
        recipient="+14155550102",
        channel_options={"whatsapp": {"template": template}},
    )
    assert delivery_ids(accepted)


def test_a_channel_test_in_test_mode_goes_to_the_simulator(account, db):
    api = op_test_client(account)
    send(api, "hi", channels=["discord"], recipient="delivered")
    channel = ChannelConfig.objects.get(kind="discord")
    response = api.post_json(f"/api/v1/channels/{channel.pk}/test")
    assert response.status_code == 202, response.content
