"""A channel kind is one folder (issue #15): the code outside it barely names it, and every
list of kinds — model choices, the API's, the dashboard's forms and contact fields — is the
registry's, even for a kind registered while running."""

import re
from pathlib import Path

import pytest

from channels_app.dashboard.channel_forms import channel_forms
from channels_app.dashboard.forms import ContactForm
from channels_app.filters import DeliveryFilter, MessageFilter
from channels_app.integrations import REGISTRY, channel_kinds, get_integration
from channels_app.models import ChannelConfig, Delivery
from channels_app.serializers import ChannelConfigSerializer
from tests.fake_kind import PAGER_PATH

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = ("oneping", "accounts", "channels_app", "webhooks", "templates", "static")
SUFFIXES = {".py", ".html", ".js"}
# Where naming a kind is the point: its own folder, migrations, and the inbound schemes and
# presets with their page (a preset is data: "notify Slack").
EXEMPT = (
    "channels_app/integrations/",
    "/migrations/",
    "webhooks/inbound/",
    "webhooks/dashboard/inbound",
)
# The registry line, a settings line for its API base, a docstring or two.
MOST_LINES = 4
CONTACT_FORM_OWN_FIELDS = {"identifier", "name"}


def measured_kinds() -> list[str]:
    """Chat and phone kinds; email's name also means a person's address, so it is left out."""
    return [kind for kind in channel_kinds() if kind != "email"]


def lines_naming(kind: str) -> list[str]:
    pattern = re.compile(re.escape(kind), re.IGNORECASE)
    found = []
    for top in APPLICATION:
        for path in sorted((ROOT / top).rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.suffix not in SUFFIXES or any(part in relative for part in EXEMPT):
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if pattern.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("kind", measured_kinds())
def test_application_code_names_a_kind_outside_its_folder_on_at_most_4_lines(kind):
    found = lines_naming(kind)
    assert len(found) <= MOST_LINES, f"{kind} named on {len(found)} lines:\n" + "\n".join(found)


def model_choices(model, field: str) -> list[str]:
    return [value for value, _ in model._meta.get_field(field).choices]


def listed_kinds() -> dict[str, list[str]]:
    """Every list of kinds the app derives, by where it appears."""
    return {
        "ChannelConfig.kind": model_choices(ChannelConfig, "kind"),
        "Delivery.channel": model_choices(Delivery, "channel"),
        "API kind": list(ChannelConfigSerializer().fields["kind"].choices),
        "channel forms": list(channel_forms()),
        "contact fields": [
            name for name in ContactForm().fields if name not in CONTACT_FORM_OWN_FIELDS
        ],
    }


def test_every_list_of_kinds_is_the_registrys():
    for where, kinds in listed_kinds().items():
        assert kinds == list(REGISTRY), where
    # Taken when channels_app.filters was imported (drf-spectacular documents a filter's
    # choices only when they are a list), so compared with the registry as it was.
    for filterset in (MessageFilter, DeliveryFilter):
        filtered = [value for value, _ in filterset.base_filters["channel"].extra["choices"]]
        assert filtered == list(REGISTRY), filterset.__name__


def test_model_choices_show_each_kinds_title():
    assert ChannelConfig(kind="telegram").get_kind_display() == "Telegram"
    assert dict(ChannelConfig._meta.get_field("kind").choices)["email"] == "Email"


@pytest.fixture
def pager(monkeypatch):
    """The fake kind, registered the way a real one is: one registry line."""
    monkeypatch.setitem(REGISTRY, "pager", PAGER_PATH)
    yield get_integration("pager")
    # get_integration keeps one instance per kind: forget the fake one with its line.
    get_integration.cache_clear()


def test_a_kind_registered_at_runtime_shows_up_everywhere(pager):
    for where, kinds in listed_kinds().items():
        assert kinds == [*channel_kinds()], where
        assert "pager" in kinds, where
    assert dict(ChannelConfig._meta.get_field("kind").choices)["pager"] == "Pager"


def test_a_kind_registered_at_runtime_is_configured_and_used_like_the_others(
    pager, api, client, owner
):
    created = api.post_json("/api/v1/channels", {"kind": "pager", "config": {"pin": "1234"}})
    assert created.status_code == 201, created.json()
    assert created.json()["config"] == {"pin": "…1234"}
    refused = api.post_json("/api/v1/channels", {"kind": "pager", "config": {"pin": "x"}})
    assert refused.json()["error"]["message"] == "config.pin: Enter the PIN: digits only."

    client.force_login(owner)
    channels_page = client.get("/channels/").content.decode()
    assert 'id="channel-pager"' in channels_page
    assert "<code>pin</code>" in channels_page  # its setup text, as Markdown
    assert 'name="pager-pin"' in channels_page
    assert 'name="test-pager-recipient"' in channels_page
    contact_page = client.get("/contacts/new/").content.decode()
    assert 'name="pager"' in contact_page and "A pager number." in contact_page

    saved = client.post("/contacts/new/", {"identifier": "oncall", "pager": "5550100"})
    assert saved.status_code == 302
    sent = api.post_json(
        "/api/v1/send", {"message": "wake up", "channels": ["pager"], "recipient": "oncall"}
    )
    assert sent.status_code == 202, sent.json()
    assert Delivery.objects.get().address == "oncall (5550100)"


def test_the_registry_is_read_again_once_the_fake_kind_is_gone():
    # After test_a_kind_registered_at_runtime_… (same module, in order): nothing kept it.
    assert "pager" not in channel_kinds()
    assert "pager" not in model_choices(ChannelConfig, "kind")
    assert "pager" not in channel_forms()
    assert "pager" not in ContactForm().fields
