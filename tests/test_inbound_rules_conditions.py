"""Which rules fire: every matching one ("all") or the first ("first"), the catch-all beside
exact matches, `stop`, `when` conditions (true, false, an error naming the rule), stable
rule ids, and rules checked when saved."""

import html
import json

import pytest
from django.test import Client

from channels_app.models import Message
from tests.conftest import unpaced, wait_until
from tests.inbound_helpers import as_json, create_inbound_endpoint, inbound_path
from tests.test_inbound_processing import process_all
from webhooks.inbound import templates
from webhooks.models import InboundEndpoint, InboundEvent


@pytest.fixture
def channels(channels):
    # Rules making several messages to one webhook, sent at once by hand: their subject is
    # which rules fire, not pacing (tests/conftest.py unpaced).
    unpaced(*channels.values())
    return channels


def rule(event: str = "*", message: str = "{{ event }}", **fields) -> dict:
    return {"event": event, "message": message, "channels": ["slack"], "recipient": "o", **fields}


def receive(endpoint: dict, payload: dict) -> str:
    response = Client().post(
        inbound_path(endpoint), as_json(payload), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["id"]


def texts(slack) -> list[str]:
    return [request.json()["text"] for request in slack.requests]


def test_every_matching_rule_fires_in_order_with_the_catch_all(api, channels, slack):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        rules=[
            rule("deploy", "exact one"),
            rule("*", "catch-all"),
            rule("other", "not this"),
            rule("deploy", "exact two"),
        ],
    )
    receive(endpoint, {"event": "deploy"})

    process_all()

    assert texts(slack) == ["exact one", "catch-all", "exact two"]
    assert InboundEvent.objects.get().status == "processed"


def test_first_mode_fires_one_rule_exact_before_the_catch_all(api, channels, slack):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        rule_mode="first",
        rules=[
            rule("*", "catch-all"),
            rule("deploy", "too hot", when="cpu > 90"),
            rule("deploy", "exact"),
            rule("deploy", "second exact"),
        ],
    )
    receive(endpoint, {"event": "deploy", "cpu": 50})
    receive(endpoint, {"event": "build", "cpu": 50})

    process_all()

    assert sorted(texts(slack)) == ["catch-all", "exact"]


def test_stop_ends_the_evaluation_when_its_rule_fires(api, channels, slack):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        rules=[
            rule("alert", "paged", when="severity == 'critical'", stop=True),
            rule("alert", "logged"),
        ],
    )
    receive(endpoint, {"event": "alert", "severity": "critical"})
    process_all()
    assert texts(slack) == ["paged"]

    receive(endpoint, {"event": "alert", "severity": "info"})
    process_all()
    assert texts(slack) == ["paged", "logged"]


@pytest.mark.parametrize(
    ("when", "payload", "sent"),
    [
        ("total_price | float > 100", {"total_price": "403.00"}, True),
        ("total_price | float > 100", {"total_price": "99.90"}, False),
        (
            'alerts[0].labels.severity == "critical"',
            {"alerts": [{"labels": {"severity": "critical"}}]},
            True,
        ),
        (
            'alerts[0].labels.severity == "critical"',
            {"alerts": [{"labels": {"severity": "warning"}}]},
            False,
        ),
        ("tags", {"tags": []}, False),  # truthiness decides
    ],
)
def test_when_decides_whether_a_rule_fires(api, channels, slack, when, payload, sent):
    endpoint = create_inbound_endpoint(
        api, verification="none", rules=[rule("order", "big order", when=when)]
    )
    receive(endpoint, {"event": "order", **payload})

    process_all()

    event = InboundEvent.objects.get()
    assert texts(slack) == (["big order"] if sent else [])
    if not sent:
        assert (event.status, event.error) == (
            "ignored",
            "No rule's condition holds for the event type 'order'.",
        )


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("total_price | float > 100", "template variable 'total_price' is undefined"),
        ("customer.vip", "template variable 'vip' is undefined"),
        ("1 / count > 1", "division by zero"),
        ("''.__class__.__mro__", "not allowed"),
    ],
)
def test_a_condition_error_fails_the_event_naming_the_rule_and_sends_nothing(
    api, channels, slack, when, reason
):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        rules=[rule("order", "first"), rule("order", "second", id="big-orders", when=when)],
    )
    receive(endpoint, {"event": "order", "customer": {}, "count": 0})

    process_all()

    event = InboundEvent.objects.get()
    assert event.status == "failed"
    assert event.error.startswith("rule 'big-orders': when: ")
    assert reason in event.error
    # Conditions are all evaluated before anything is accepted: the first rule sent nothing.
    assert Message.objects.count() == 0
    assert slack.requests == []


def test_a_template_error_in_one_of_several_fired_rules_names_it_and_sends_nothing(
    api, channels, slack
):
    endpoint = create_inbound_endpoint(
        api,
        verification="none",
        rules=[rule("*", "fine"), rule("*", "{{ nope }}", id="broken")],
    )
    receive(endpoint, {"event": "x"})

    process_all()

    event = InboundEvent.objects.get()
    assert event.error == "rule 'broken': template variable 'nope' is undefined"
    assert Message.objects.count() == 0


def test_rules_get_stable_ids_kept_when_sent_back(api, channels):
    endpoint = create_inbound_endpoint(
        api, verification="none", rules=[rule("a"), rule("b", id="mine")]
    )
    first, second = endpoint["rules"]
    assert first["id"].startswith("rul_")
    assert second["id"] == "mine"

    changed = api.patch(
        f"/api/v1/inbound-endpoints/{endpoint['id']}",
        {"rules": [{**first, "message": "changed"}, second]},
        content_type="application/json",
    ).json()

    assert [r["id"] for r in changed["rules"]] == [first["id"], "mine"]
    shown = api.get(f"/api/v1/inbound-endpoints/{endpoint['id']}").json()
    assert [r["id"] for r in shown["rules"]] == [first["id"], "mine"]


def test_processing_twice_makes_each_rules_message_once(api, channels, slack):
    endpoint = create_inbound_endpoint(
        api, verification="none", rules=[rule("*", "one"), rule("*", "two")]
    )
    event_id = receive(endpoint, {"event": "x"})

    process_all()
    InboundEvent.objects.update(status="received")  # as if the task were delivered again
    process_all()

    assert Message.objects.count() == 2
    assert sorted(texts(slack)) == ["one", "two"]
    made = api.get(f"/api/v1/inbound-events/{event_id}").json()["messages"]
    assert [m["rule"] for m in made] == [r["id"] for r in endpoint["rules"]]


@pytest.mark.parametrize(
    ("rules", "message_start"),
    [
        ([rule(when="a >")], "rules[0].when: expression syntax error"),
        ([rule(when="a }} {{ b")], "rules[0].when: expression syntax error"),
        ([rule(when=5)], "rules[0].when: Must be a string"),
        ([rule(stop="yes")], "rules[0].stop: Must be true or false."),
        ([rule(id="x"), rule(id="x")], "rules[1].id: Another rule has the id 'x'."),
        ([rule(id="no spaces")], "rules[0].id:"),
        ([rule(metadata={"k": 1})], "rules[0].metadata.k: Must be a string"),
        ([rule(metadata={"k": "{{ oops"})], "rules[0].metadata.k: template syntax error"),
    ],
)
def test_conditions_ids_and_stop_are_checked_when_saved(api, channels, rules, message_start):
    response = api.post_json(
        "/api/v1/inbound-endpoints", {"name": "x", "verification": "none", "rules": rules}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_rule"
    assert error["message"].startswith(message_start), error["message"]


def test_an_unknown_rule_mode_is_refused(api, channels):
    response = api.post_json(
        "/api/v1/inbound-endpoints",
        {"name": "x", "verification": "none", "rule_mode": "some", "rules": []},
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("rule_mode:")


def test_the_event_page_lists_the_messages_it_made(api, channels, slack, owner_client):
    endpoint = create_inbound_endpoint(
        api, verification="none", rules=[rule("*", "one", id="r-one"), rule("*", "two", id="r-two")]
    )
    event_id = receive(endpoint, {"event": "x"})
    process_all()

    page = owner_client.get(f"/inbound/{endpoint['id']}/events/{event_id}/").content.decode()

    for made in Message.objects.all():
        assert f"/messages/{made.pk}/" in page
    assert "r-one" in page and "r-two" in page


def test_the_dashboard_form_sets_the_rule_mode_and_refuses_a_bad_condition(
    owner_client, account, channels
):
    rules = json.dumps([rule("*", "hi", when="severity ==")])
    refused = owner_client.post(
        "/inbound/new/",
        {"name": "alerts", "verification": "none", "rule_mode": "first", "rules": rules},
    )
    assert "rules[0].when: expression syntax error" in html.unescape(refused.content.decode())

    created = owner_client.post(
        "/inbound/new/",
        {
            "name": "alerts",
            "verification": "none",
            "rule_mode": "first",
            "rules": json.dumps([rule("*", "hi", when="severity == 'critical'")]),
        },
    )

    assert created.status_code == 302
    endpoint = InboundEndpoint.objects.get(account=account)
    assert endpoint.rule_mode == "first"
    assert endpoint.rules[0]["when"] == "severity == 'critical'"


def test_rules_saved_without_ids_fire_by_their_position(api, channels, slack):
    # The admin edits rules as raw JSON, past clean_rules: such a rule has no id.
    endpoint = create_inbound_endpoint(api, verification="none", rules=[rule("*", "hi")])
    InboundEndpoint.objects.update(rules=[rule("*", "raw")])
    event_id = receive(endpoint, {"event": "x"})

    process_all()

    assert texts(slack) == ["raw"]
    made = api.get(f"/api/v1/inbound-events/{event_id}").json()["messages"]
    assert [m["rule"] for m in made] == ["rules[0]"]


# Each `in` scans a list of 99999 items, once per item: minutes of work in filters and
# tests, which the sandbox allows and only the time budget stops.
SLOW_WHEN = "range(99999) | select('in', range(99999) | list) | list | length > 0"
SLOW_ERROR = (
    f"template_timeout: rule 'slow': when: the template took longer than "
    f"{templates.MAX_SECONDS:g} s"
)


def test_a_slow_condition_fails_the_event_on_the_budget_naming_the_rule(
    api, channels, slack, settings, celery_worker
):
    # The parent's wall clock well past the child's own budget (templates.MAX_SECONDS): the
    # child stops itself and says which rule it was evaluating. Were the budget checked
    # only between filter calls, the parent would kill it first, naming no rule.
    settings.ONEPING_TEMPLATE_TIMEOUT_SECONDS = 15
    endpoint = create_inbound_endpoint(
        api, verification="none", rules=[rule("*", "fine"), rule(id="slow", when=SLOW_WHEN)]
    )
    event_id = receive(endpoint, {"event": "x"})

    wait_until(lambda: InboundEvent.objects.get(pk=event_id).status == "failed", timeout=60)

    assert InboundEvent.objects.get(pk=event_id).error == SLOW_ERROR
    assert Message.objects.count() == 0
    assert slack.requests == []


def test_the_preview_lists_a_slow_condition_in_errors(api, channels, settings):
    settings.ONEPING_TEMPLATE_TIMEOUT_SECONDS = 15
    endpoint = create_inbound_endpoint(
        api, verification="none", rules=[rule(id="slow", when=SLOW_WHEN)]
    )

    response = api.post_json(
        f"/api/v1/inbound-endpoints/{endpoint['id']}/preview",
        {"headers": {"Content-Type": "application/json"}, "body": as_json({"event": "x"}).decode()},
    )

    assert response.status_code == 200, response.content
    assert response.json()["errors"] == [SLOW_ERROR]
    assert response.json()["messages"] == []
    assert not InboundEvent.objects.exists()
