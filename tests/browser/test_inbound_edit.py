"""The inbound endpoint's Edit page in the browser (issue #18): an owner changes the rules
(a condition on one, a new one) and where requests may come from, and the endpoint's page
shows them; the rule left alone keeps its id."""

import json
import re

import pytest
from playwright.sync_api import expect

from channels_app.models import ChannelConfig
from tests.browser.conftest import log_in, screenshot
from tests.conftest import OWNER_PASSWORD
from tests.inbound_helpers import create_inbound_endpoint
from webhooks.models import InboundEndpoint

pytestmark = pytest.mark.browser

RULES = [
    {
        "id": "sales-slack",
        "event": "orders/create",
        "channels": ["slack"],
        "recipient": "sales",
        "message": "New order {{ order_number }}",
    }
]


def test_an_owner_edits_the_rules_and_allowed_ips(page, owner, account, api):
    ChannelConfig.objects.create(
        account=account, kind="slack", config={"webhook_url": "https://hooks.slack.test/x"}
    )
    endpoint = create_inbound_endpoint(
        api, name="Shop", verification="shopify", secret="shpss_demo", rules=RULES
    )

    log_in(page, owner.email, OWNER_PASSWORD)
    page.goto(f"/inbound/{endpoint['id']}/")
    page.get_by_role("link", name="Edit").click()
    expect(page.locator("h1")).to_have_text("Edit Shop")
    rules = json.loads(page.get_by_label("Rules").input_value())
    assert rules == InboundEndpoint.objects.get(pk=endpoint["id"]).rules  # ids included
    rules[0]["when"] = "total_price | float > 100"
    rules.append(
        {"event": "*", "channels": ["slack"], "recipient": "ops", "message": "{{ event_type }}"}
    )
    page.get_by_label("Rules").fill(json.dumps(rules, indent=2))
    page.get_by_label("Rule mode").select_option("first")
    page.get_by_label("Allowed IPs").fill("203.0.113.0/24\n2001:db8::/32")
    page.get_by_role("button", name="Save endpoint").click()

    expect(page).to_have_url(re.compile(rf"/inbound/{endpoint['id']}/$"))
    shown = page.locator("#rules")
    expect(shown).to_contain_text("Rule mode: The first matching rule fires")
    expect(shown).to_contain_text("Allowed IPs: 203.0.113.0/24, 2001:db8::/32")
    expect(shown).to_contain_text("orders/create when total_price | float > 100 → slack to sales")
    expect(shown).to_contain_text("id sales-slack")
    expect(shown).to_contain_text("* → slack to ops")
    screenshot(page, "inbound-edit")
    stored = InboundEndpoint.objects.get(pk=endpoint["id"])
    kept, added = (rule["id"] for rule in stored.rules)
    assert kept == "sales-slack"
    assert added.startswith("rul_")
    assert stored.allowed_ips == ["203.0.113.0/24", "2001:db8::/32"]
