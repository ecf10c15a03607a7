"""Pacing in the browser (issue #19): an owner whose Slack channel sends at most one message
every ten seconds sees its rate and the deliveries waiting on the channel page, and a
waiting message's timeline says until when it was paced. Sent by a real worker to the Slack
fake, through the real token store."""

import re

import pytest
from playwright.sync_api import expect

from channels_app.models import ChannelConfig, Delivery
from tests.browser.conftest import log_in, screenshot
from tests.conftest import OWNER_PASSWORD, send, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.usefixtures("empty_queue")]

# 0.1 a second: after the first message the next token is more than ten seconds away, so
# the second one waits (paced) and the third behind it while the test looks.
RATE = 0.1


def test_an_owner_sees_a_channels_rate_and_a_paced_message(
    page, account, owner, api, slack, celery_worker
):
    ChannelConfig.objects.create(
        account=account,
        kind="slack",
        config={"webhook_url": f"{slack.url}/services/T000/B000/XXXX", "max_per_second": RATE},
    )
    accepted = [
        send(api, f"deploy {n} done", channels=["slack"], recipient="ops") for n in range(3)
    ]
    second = accepted[1]["deliveries"][0]["id"]
    wait_until(
        lambda: Delivery.objects.filter(pk=second, paced_until__isnull=False).exists(), timeout=60
    )
    log_in(page, owner.email, OWNER_PASSWORD)

    page.goto("/channels/")
    pacing = page.locator("#pacing-slack")
    expect(pacing).to_contain_text("Paced: 0.1/s per webhook (your max_per_second)")
    expect(pacing.locator(".pacing-waiting")).to_have_text(re.compile(r"^\d+ waiting$"))
    assert slack.url not in pacing.inner_text()
    screenshot(page, "channel-pacing")

    page.goto(f"/messages/{accepted[1]['id']}/")
    expect(page.locator(f"[id='{second}'] .timeline")).to_contain_text(
        re.compile(r"paced until \S+Z \(\d+\.\d\d s\): the slack destination's rate")
    )
