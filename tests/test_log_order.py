"""Newest-first logs are read through the account's own index (oneping.logorder).

On PostgreSQL the primary key used to be a second way to get `ORDER BY id DESC`, and the
planner took it for big accounts, reading every newer row of other accounts first.
"""

import pytest
from django.db import connection

from accounts import api_keys
from channels_app.models import ChannelConfig, Delivery, Message
from oneping.logorder import LOG_KEY, with_log_key
from tests.conftest import ApiClient, send
from webhooks.models import Event, InboundEvent


def listed(api, path: str) -> list[str]:
    """Every id of a list, following the cursors two at a time."""
    found, url = [], f"{path}?limit=2"
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        found += [row["id"] for row in response.json()["results"]]
        url = response.json()["next"]
    return found


def test_message_and_delivery_logs_page_newest_first_past_another_accounts_rows(
    api, channels, make_account, account
):
    ours = [send(api, message=f"m{n}") for n in range(3)]
    # Another account's messages, all newer than ours.
    other = make_account("Other")
    config = ChannelConfig.objects.get(account=account, kind="slack")
    ChannelConfig.objects.create(account=other, kind="slack", config=config.config)
    other_api = ApiClient(api_keys.issue_key(other, "tests")[1])
    theirs = [send(other_api)["id"] for _ in range(3)]

    assert listed(api, "/api/v1/messages") == [m["id"] for m in reversed(ours)]
    assert listed(api, "/api/v1/deliveries") == [m["deliveries"][0]["id"] for m in reversed(ours)]
    assert listed(other_api, "/api/v1/messages") == theirs[::-1]


def plan_without_sorting(queryset) -> str:
    """PostgreSQL's plan for the query when it may not sort: the order must come from an
    index, so the plan names every index able to give it."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a property of PostgreSQL's planner")
@pytest.mark.parametrize(
    ("model", "filters", "indexes"),
    [
        (Message, {}, {"message_log"}),
        # A filtered page may read the filter's index or the plain one and filter: both
        # are the account's own rows, in order.
        (Message, {"status": "failed"}, {"message_log_status", "message_log"}),
        (Message, {"recipient": "ops"}, {"message_log_recipient", "message_log"}),
        (Delivery, {}, {"delivery_log"}),
        (Delivery, {"status": "failed"}, {"delivery_by_status", "delivery_log"}),
        (Event, {}, {"event_log"}),
        (Event, {"type": "message.failed"}, {"event_log_type", "event_log"}),
        (InboundEvent, {}, {"inbound_log"}),
        (InboundEvent, {"status": "failed"}, {"inbound_by_status", "inbound_log"}),
    ],
)
def test_only_the_account_index_can_give_the_log_order(account, model, filters, indexes):
    page = with_log_key(model.objects.filter(account=account, **filters)).order_by(f"-{LOG_KEY}")[
        :51
    ]

    plan = plan_without_sorting(page)

    used = {line.split(" using ")[1].split()[0] for line in plan.splitlines() if " using " in line}
    assert used and used <= indexes, plan
    assert "pkey" not in plan, plan
