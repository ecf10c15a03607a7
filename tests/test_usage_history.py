"""Usage history (issue #21): GET /api/v1/usage and the plan page's chart read a rollup kept
up to date on write (channels_app.rollup); its numbers must match the message log's, per
month, channel and status, after every kind of flow a delivery goes through."""

import ast
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from accounts import environments
from accounts.models import Account, MonthlyUsage, Plan
from accounts.usage import billing_period
from channels_app import rollup
from channels_app.delivery import DELIVERIES
from channels_app.models import Delivery, Message, UsageRollup
from channels_app.usage_history import months_back, project
from tests.conftest import ApiClient, delivery_ids, send, unpaced, wait_until
from tests.fakes import Canned, FakeTelegram
from tests.simulator_helpers import op_test_client

FINAL_MESSAGE = ["delivered", "failed", "partially_failed"]
ROOT = Path(__file__).resolve().parent.parent


def shown_status(status: str) -> str:
    """How the history shows a delivery's status: final ones as themselves, the rest
    (standby, queued, sending, retrying) as "pending" (README, "Usage history")."""
    return status if status in Delivery.FINAL else "pending"


def log_by_month(account: Account) -> dict[str, dict[str, Counter]]:
    """The message log's deliveries per month of their message's acceptance, by channel
    and by status: what the usage history must say, computed from the log itself."""
    months: dict[str, dict[str, Counter]] = {}
    rows = (
        Delivery.objects.filter(account=account)
        .values_list("message__created_at", "channel", "status")
        .order_by()
    )
    for created_at, channel, status in rows:
        month = months.setdefault(
            f"{created_at.astimezone(UTC):%Y-%m}", {"channel": Counter(), "status": Counter()}
        )
        month["channel"][channel] += 1
        month["status"][shown_status(status)] += 1
    return months


def assert_rollup_matches_the_log() -> None:
    """Every account's rollup == an aggregate of the deliveries: a status write that
    bypassed the rollup would show here."""
    expected: Counter = Counter()
    for account_id, created_at, channel, status, n in (
        Delivery.objects.values_list("account_id", "message__created_at", "channel", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        at = created_at.astimezone(UTC)
        expected[(account_id, date(at.year, at.month, 1), channel, shown_status(status))] += n
    stored = Counter(
        {
            (row.account_id, row.month, row.channel, row.status): row.count
            for row in UsageRollup.objects.all()
            if row.count
        }
    )
    assert stored == +expected


def assert_api_matches_the_log(api: ApiClient, account: Account) -> dict:
    body = api.get("/api/v1/usage", {"months": 3})
    assert body.status_code == 200, body.content
    months = body.json()["data"]
    log = log_by_month(account)
    for month in months:
        counted = log.get(month["month"], {"channel": Counter(), "status": Counter()})
        assert month["by_channel"] == dict(counted["channel"]), month["month"]
        assert month["by_status"] == dict(counted["status"]), month["month"]
    return months[0]


def final(message_id: str) -> Message:
    return wait_until(
        lambda: Message.objects.filter(pk=message_id, status__in=FINAL_MESSAGE).first(),
        timeout=60,
    )


def sent(api: ApiClient, message: str, **fields) -> Message:
    return final(send(api, message, **fields)["id"])


@pytest.mark.worker
def test_usage_matches_the_message_log_after_every_live_flow(
    api, account, channels, slack, telegram, discord, celery_worker
):
    # Delivered on two channels
    assert sent(api, "A", channels=["slack", "telegram"], recipient="4242").status == "delivered"
    # Rate-limited, retried, delivered
    telegram.answer(FakeTelegram.rate_limited(retry_after=1))
    assert sent(api, "B", channels=["telegram"], recipient="4242").status == "delivered"
    # Failed on Slack, delivered by the Discord fallback
    slack.answer(Canned(404, "no_service"))
    message = sent(api, "C", channels=["slack"], recipient="ops", fallback_channels=["discord"])
    assert message.status == "partially_failed"
    # Failed after its retries (tests/settings.py: three, 0.2 s apart)
    discord.answer(*[Canned(500, "oops")] * 4)
    message = sent(api, "D", channels=["discord"], recipient="ops")
    assert message.deliveries.get().attempts == 4
    assert message.status == "failed"
    # A dead letter retried by hand, then delivered
    slack.answer(Canned(500, "oops"))
    dead = sent(api, "G", channels=["slack"], recipient="ops", retry=False).deliveries.get()
    assert dead.status == "failed"
    assert api.post_json(f"/api/v1/deliveries/{dead.pk}/retry", {}).status_code == 202
    wait_until(lambda: Delivery.objects.filter(pk=dead.pk, status="delivered").exists())
    # Sent by email (SMTP: "sent" is its final word without a provider's report)
    assert sent(api, "E", channels=["email"], recipient="someone@example.com").status == (
        "delivered"
    )
    # Delivered, with a skipped fallback
    sent(api, "F", channels=["slack"], recipient="ops", fallback_channels=["telegram"])
    # A channel test: in the log and the rollup, not in `used`
    accepted = api.post_json(f"/api/v1/channels/{channels['slack'].pk}/test", {})
    wait_until(
        lambda: Delivery.objects.filter(
            pk=accepted.json()["delivery_id"], status="delivered"
        ).exists()
    )

    current = assert_api_matches_the_log(api, account)

    assert current["month"] == f"{datetime.now(UTC):%Y-%m}"
    assert current["used"] == 7  # the channel test is free
    assert current["by_status"] == {
        "delivered": 7,
        "failed": 2,
        "sent": 1,
        "skipped": 1,
    }
    assert current["by_channel"] == {"slack": 5, "telegram": 3, "discord": 2, "email": 1}
    assert current["plan"] == "free" and current["limit"] == 100
    assert current["projected"] >= current["used"]
    assert_rollup_matches_the_log()


@pytest.mark.worker
def test_usage_matches_the_log_in_test_mode_with_the_simulator(account, celery_worker, settings):
    settings.ONEPING_SIMULATOR_REPORT_DELAY_SECONDS = 0.2
    api = op_test_client(account)
    ids = []
    for recipient in ("delivered", "bounced", "complained"):
        accepted = send(
            api, recipient, channels=["email"], recipient=f"{recipient}@sim.oneping.test"
        )
        ids += delivery_ids(accepted)
    wait_until(
        lambda: (
            set(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True))
            == {"delivered", "bounced", "complained"}
        ),
        timeout=60,
    )
    test_environment = environments.test_environment(account)

    current = assert_api_matches_the_log(api, test_environment)

    assert current["by_status"] == {"delivered": 1, "bounced": 1, "complained": 1}
    assert current["used"] == 3
    # A test environment has a daily cap, no monthly quota nor plan of its own.
    assert current["limit"] is None and current["plan"] is None
    # The live account's history knows nothing of it.
    live = ApiClient(_live_key(account)).get("/api/v1/usage", {"months": 1}).json()["data"][0]
    assert live["used"] == 0 and live["by_status"] == {} and live["by_channel"] == {}
    assert_rollup_matches_the_log()


def _live_key(account: Account) -> str:
    from accounts import api_keys

    return api_keys.issue_key(account, "live")[1]


def test_a_message_accepted_in_november_counts_in_november_when_it_settles_later(
    api, account, slack_channel, slack
):
    # Given a message accepted on 30 November (no worker runs: it waits in the outbox)
    accepted = send(api, "Late", channels=["slack"], recipient="ops")
    november = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    Message.objects.filter(pk=accepted["id"]).update(created_at=november)
    Delivery.objects.filter(message_id=accepted["id"]).update(created_at=november)
    MonthlyUsage.objects.filter(account=account).update(period_start=date(2026, 11, 1))
    rollup.rebuild()  # the rollup as it stood when November's message was accepted
    assert UsageRollup.objects.get().month == date(2026, 11, 1)

    # When it is delivered now
    DELIVERIES.attempt(delivery_ids(accepted)[0])

    # Then its count moved from pending to delivered, in November
    assert Delivery.objects.get(message_id=accepted["id"]).status == "delivered"
    rows = list(UsageRollup.objects.exclude(count=0).values_list("month", "status", "count"))
    assert rows == [(date(2026, 11, 1), "delivered", 1)]
    assert_rollup_matches_the_log()
    months = api.get("/api/v1/usage", {"months": 24}).json()["data"]
    by_month = {m["month"]: m for m in months}
    assert by_month["2026-11"]["by_status"] == {"delivered": 1}
    assert by_month["2026-11"]["used"] == 1
    assert by_month["2026-12"]["by_status"] == {}


def test_concurrent_sends_and_outcomes_keep_the_rollup_exact(
    transactional_db, account, slack_channel, slack
):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from accounts import api_keys

    raw_key = api_keys.issue_key(account, "race")[1]
    unpaced(slack_channel)  # all at once, not one by one behind the destination's head

    def closing(call):
        def run(n):
            try:
                return call(n)
            finally:
                connection.close()  # each thread has its own connection

        return run

    # Every other Slack answer fails for good: two final statuses race on the rows.
    slack.answer(*[Canned(200, "ok"), Canned(404, "no_service")] * 15)
    with ThreadPoolExecutor(max_workers=10) as pool:
        accepted = list(
            pool.map(
                closing(lambda n: send(ApiClient(raw_key), f"n{n}", channels=["slack"])),
                range(30),
            )
        )
        ids = [delivery_ids(body)[0] for body in accepted]
        list(pool.map(closing(lambda pk: DELIVERIES.attempt(pk)), ids))

    statuses = Counter(Delivery.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == {"delivered": 15, "failed": 15}
    assert_rollup_matches_the_log()


@pytest.mark.parametrize("months", ["0", "25", "-1", "twelve", "1.5"])
def test_a_bad_months_value_is_a_400_in_the_error_shape(api, months):
    response = api.get("/api/v1/usage", {"months": months})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "months" in error["details"]["fields"]


def test_months_default_to_twelve_newest_first_with_empty_months_as_zeros(api, account):
    now = datetime.now(UTC)
    first = date(now.year, now.month, 1)
    earlier = months_back(now, 12)[5]  # a past month, with the plan of its last message
    MonthlyUsage.objects.create(
        account=account, period_start=earlier, used=42, plan_name="pro", plan_limit=10000
    )

    data = api.get("/api/v1/usage").json()["data"]

    assert len(data) == 12
    assert data[0]["month"] == f"{first:%Y-%m}"
    assert [m["month"] for m in data] == [f"{m:%Y-%m}" for m in months_back(now, 12)]
    assert "projected" in data[0] and all("projected" not in m for m in data[1:])
    empty = data[1]
    assert empty["used"] == 0 and empty["by_channel"] == {} and empty["by_status"] == {}
    past = data[5]
    assert past["month"] == f"{earlier:%Y-%m}"
    assert (past["used"], past["plan"], past["limit"]) == (42, "pro", 10000)
    assert len(api.get("/api/v1/usage", {"months": 24}).json()["data"]) == 24
    assert len(api.get("/api/v1/usage", {"months": 1}).json()["data"]) == 1


def test_the_history_is_the_callers_own(api, account, make_account, make_api_client, slack_channel):
    # Given account B with traffic of its own
    other = make_account()
    UsageRollup.objects.create(
        account=other, month=billing_period()[0].date(), channel="sms", status="failed", count=9
    )
    MonthlyUsage.objects.create(account=other, period_start=billing_period()[0].date(), used=9)
    send(api, "mine", channels=["slack"], recipient="ops")

    mine = api.get("/api/v1/usage", {"months": 1}).json()["data"][0]
    theirs = make_api_client(other).get("/api/v1/usage", {"months": 1}).json()["data"][0]

    assert mine["used"] == 1 and mine["by_channel"] == {"slack": 1}
    assert mine["by_status"] == {"pending": 1}
    assert theirs["used"] == 9 and theirs["by_channel"] == {"sms": 9}


def test_the_plan_and_limit_in_force_are_recorded_with_the_month(api, account, slack_channel):
    send(api, "on free", channels=["slack"], recipient="ops")
    row = MonthlyUsage.objects.get(account=account)
    assert (row.plan_name, row.plan_limit) == ("free", 100)

    # A plan change mid-month: the current month shows it at once, and the row takes it
    # with the next message.
    account.plan = Plan.objects.get(name="pro")
    account.save(update_fields=["plan"])
    current = api.get("/api/v1/usage", {"months": 1}).json()["data"][0]
    assert (current["plan"], current["limit"]) == ("pro", 10_000)
    send(api, "on pro", channels=["slack"], recipient="ops")
    row.refresh_from_db()
    assert (row.plan_name, row.plan_limit, row.used) == ("pro", 10_000, 2)


def test_the_projection_is_used_over_the_elapsed_fraction_of_the_month():
    # 10 days of December's 31 gone, 20 used: 62 at this pace
    assert project(20, datetime(2026, 12, 11, tzinfo=UTC)) == 62
    assert project(0, datetime(2026, 12, 20, tzinfo=UTC)) == 0
    assert project(5, datetime(2026, 12, 1, 0, 0, 10, tzinfo=UTC)) == 5  # too early to tell


def test_the_plan_page_draws_the_months_and_their_numbers(owner_client, account):
    now = datetime.now(UTC)
    this_month = date(now.year, now.month, 1)
    MonthlyUsage.objects.create(
        account=account, period_start=this_month, used=37, plan_name="free", plan_limit=100
    )
    UsageRollup.objects.create(
        account=account, month=this_month, channel="email", status="delivered", count=30
    )
    UsageRollup.objects.create(
        account=account, month=this_month, channel="slack", status="failed", count=7
    )

    page = owner_client.get("/plan/").content.decode()

    assert '<svg viewBox="0 0 640 220" role="img" aria-labelledby' in page
    assert '<title id="usage-chart-title">Messages used per month</title>' in page
    assert f'data-month="{this_month:%Y-%m}"' in page
    assert 'data-used="37"' in page
    assert 'data-limit="100"' in page
    projected = project(37, now)
    if projected > 37:  # the dashed bar above the used one
        assert '<rect class="projected"' in page and f'data-projected="{projected}"' in page
    else:  # the month's last moments: nothing more to project
        assert '<rect class="projected"' not in page
    assert page.count('<rect class="used"') == 12
    # The text table with the same numbers, and the breakdown
    assert '<table id="usage-months">' in page and "<td>37</td>" in page
    assert '<table id="usage-breakdown">' in page
    assert "<td>30</td>" in page and "<td>7</td>" in page
    assert ">email</th>" in page and ">failed</th>" in page


def test_the_plan_page_in_test_mode_draws_the_test_environments_months(owner_client, account):
    test_environment = environments.test_environment(account)
    today = datetime.now(UTC).date()
    MonthlyUsage.objects.create(account=test_environment, period_start=today, used=5)
    MonthlyUsage.objects.create(account=account, period_start=today.replace(day=1), used=81)
    response = owner_client.post(reverse("dashboard-test-mode"), {"on": "1", "next": "/plan/"})
    assert response.status_code == 302

    page = owner_client.get("/plan/").content.decode()

    assert "Test-mode messages by month" in page
    assert 'data-used="5"' in page and 'data-used="81"' not in page
    assert "data-limit=" not in page  # a daily cap, no monthly limit
    assert "Test-mode messages by day" in page  # the days, as before


def test_the_backfill_migration_builds_the_rollup_from_existing_deliveries(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("channels_app", "0016_channelconfig_simulated"), ("accounts", "0010_usage_plan")]
    after = [("channels_app", "0017_usage_rollup")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        plan, _ = old.get_model("accounts", "Plan").objects.get_or_create(
            name="free", defaults={"display_name": "Free", "monthly_quota": 100}
        )
        account = old.get_model("accounts", "Account").objects.create(
            id="acct_rollup", name="Old", slug="old-rollup", plan_id=plan.pk
        )
        message_model = old.get_model("channels_app", "Message")
        delivery_model = old.get_model("channels_app", "Delivery")
        for n, (when, channel, status) in enumerate(
            [
                (datetime(2026, 10, 3, tzinfo=UTC), "email", "delivered"),
                (datetime(2026, 10, 31, 23, 59, tzinfo=UTC), "email", "bounced"),
                (datetime(2026, 11, 1, tzinfo=UTC), "slack", "delivered"),
                (datetime(2026, 11, 2, tzinfo=UTC), "slack", "retrying"),
                (datetime(2026, 11, 2, tzinfo=UTC), "sms", "standby"),
            ]
        ):
            message = message_model.objects.create(
                id=f"msg_rollup{n}", account=account, recipient="x", body="x", created_at=when
            )
            delivery_model.objects.create(
                id=f"dlv_rollup{n}",
                message=message,
                account=account,
                channel=channel,
                address="x",
                status=status,
                created_at=when,
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        call_command("migrate", verbosity=0)  # whatever later migrations there are

    rows = set(UsageRollup.objects.values_list("month", "channel", "status", "count"))
    assert rows == {
        (date(2026, 10, 1), "email", "delivered", 1),
        (date(2026, 10, 1), "email", "bounced", 1),
        (date(2026, 11, 1), "slack", "delivered", 1),
        (date(2026, 11, 1), "slack", "pending", 1),
        (date(2026, 11, 1), "sms", "pending", 1),
    }
    assert_rollup_matches_the_log()


# Every place in channels_app that writes a delivery's status, reviewed for the rollup:
# each either goes through timeline.record_many (which counts the change) or only moves a
# delivery among the statuses the rollup counts together as "pending". A new one fails this
# test until it is reviewed (and added here, with why it is counted).
STATUS_WRITES = {
    # Creation: counted by rollup.count_created in accept_message and batching._accept.
    ("channels_app/accepting.py", "build"),
    # → record_many (the results of sends), or back to queued for a pacing wait (pending).
    ("channels_app/outcomes.py", "_apply"),
    ("channels_app/pacing/gate.py", "apply_paced"),
    # → timeline.record.
    ("channels_app/outcomes.py", "set_status"),
    # → record_many (a provider's report).
    ("channels_app/reports.py", "apply"),
    # A message's status, not a delivery's.
    ("channels_app/outcomes.py", "_settle"),
    ("channels_app/delivery.py", "_load"),
    ("channels_app/delivery.py", "retry_failed"),
    # A provider report's own status (its outbox), not a delivery's.
    ("channels_app/callbacks/processing.py", "reprocess"),
    ("channels_app/callbacks/processing.py", "_finish"),
}


def _status_writes(path: Path) -> set[tuple[str, str]]:
    tree = ast.parse(path.read_text())
    found = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            assigned = isinstance(node, ast.Assign | ast.AugAssign) and any(
                isinstance(target, ast.Attribute) and target.attr == "status"
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            # QuerySet.update(status=…), Delivery(status=…), save(update_fields=[…"status"…])
            keyword = isinstance(node, ast.Call) and any(
                keyword.arg == "status" for keyword in node.keywords
            )
            if keyword and isinstance(node.func, ast.Attribute):
                keyword = node.func.attr in {"update", "update_or_create", "get_or_create"}
            elif keyword:
                keyword = isinstance(node.func, ast.Name) and node.func.id == "Delivery"
            if assigned or keyword:
                found.add((str(path.relative_to(ROOT)), function.name))
    return found


def test_every_status_write_is_reviewed_for_the_rollup():
    found = set()
    for path in (ROOT / "channels_app").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        found |= _status_writes(path)
    # Claims set "sending" through oneping.leases (pending to pending: nothing to count).
    assert found == STATUS_WRITES, "a new write of a delivery's status: count it in the rollup"
