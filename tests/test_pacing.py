"""Pacing (#19) through a real worker, against fakes that refuse bursts the way providers do
(tests/fakes.py: `limit`, Discord's announced bucket): each destination gets no more than
its rate, in acceptance order, a provider's 429 pauses it, a retried delivery holds the ones
behind it for a bounded while, and a slow destination holds up no other.

No test asserts a speed: they assert order, counts per window, the absence of 429s, and
reach their counts within generous upper bounds.
"""

import pytest

from channels_app.models import ChannelConfig, Contact, Delivery
from tests.conftest import TELEGRAM_TOKEN, delivery_ids, email_config, send, wait_until
from tests.fakes import Canned, Received, telegram_chat

Status = Delivery.Status

# Generous upper bounds for a shared 2-core machine; the rates below need a fraction.
DRAIN_TIMEOUT = 90.0
pytestmark = pytest.mark.timeout(240)


def most_in_window(requests: list[Received], seconds: float) -> int:
    """The most requests that reached a fake within any `seconds` span."""
    times = sorted(request.at for request in requests)
    return max(
        (sum(1 for later in times[i:] if later - start < seconds) for i, start in enumerate(times)),
        default=0,
    )


def arrived(requests: list[Received], field: str = "text") -> list[str]:
    """The texts of the requests, in the order they reached the fake."""
    return [request.json()[field] for request in sorted(requests, key=lambda r: r.at)]


def slack_config(account, slack, rate: float | None = None) -> ChannelConfig:
    config = {"webhook_url": f"{slack.url}/services/T000/B000/XXXX"}
    if rate is not None:
        config["max_per_second"] = rate
    return ChannelConfig.objects.create(account=account, kind="slack", config=config)


def paced_entries(delivery_id: str) -> list[str]:
    return [
        step.detail
        for step in Delivery.objects.get(pk=delivery_id).steps
        if step.detail.startswith("paced until")
    ]


def all_final(ids: list[str], timeout: float = DRAIN_TIMEOUT) -> None:
    """Wait until none of the deliveries is in flight; each went through (email's SMTP
    acceptance is "sent", the others' "delivered")."""
    in_flight = Delivery.objects.filter(pk__in=ids, status__in=Delivery.IN_FLIGHT)
    wait_until(lambda: not in_flight.exists(), timeout=timeout)
    statuses = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert set(statuses.values()) <= {Status.DELIVERED, Status.SENT}, statuses


def _four_a_second(api, account, slack, count: int) -> list[str]:
    """Given a Slack webhook whose owner allows 4 a second, and a provider that refuses a
    fifth request within any second; when `count` messages are accepted for it at once,
    then all arrive, never more than 4 in a second, none refused, in acceptance order.
    Their delivery ids."""
    slack_config(account, slack, rate=4)
    slack.limit(4, 1.0)
    ids = [delivery_ids(send(api, f"m{n}"))[0] for n in range(count)]
    slack.wait_for(count, timeout=DRAIN_TIMEOUT)
    all_final(ids)
    assert slack.refused == []
    assert len(slack.requests) == count
    assert most_in_window(slack.requests, 1.0) <= 4
    assert arrived(slack.requests) == [f"m{n}" for n in range(count)]
    return ids


def test_a_webhook_gets_no_more_than_its_rate_in_acceptance_order(
    api, account, slack, celery_worker
):
    ids = _four_a_second(api, account, slack, 40)

    # A wait for a token is no attempt, and is told once on the delivery's timeline
    assert set(Delivery.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}
    waits = [paced_entries(pk) for pk in ids[1:]]
    assert all(len(entries) <= 1 for entries in waits), waits
    assert any(len(entries) == 1 for entries in waits), waits
    [told] = next(entries for entries in waits if entries)
    assert "the slack destination's rate" in told


def test_chats_of_one_bot_are_paced_each_and_progress_side_by_side(
    api, account, telegram, celery_worker
):
    # Given a bot whose chats may each get 5 a second, and Telegram refusing more than that
    # in a chat (or more than 30 a second from the bot)
    ChannelConfig.objects.create(
        account=account,
        kind="telegram",
        config={"bot_token": TELEGRAM_TOKEN, "max_per_second": 5},
    )
    telegram.limit(30, 1.0)
    telegram.limit(5, 1.0, key=telegram_chat)

    # When ten messages are accepted for one chat, then ten for another
    chats = {"1001": [], "1002": []}
    for chat, ids in chats.items():
        ids.extend(
            delivery_ids(send(api, f"{chat}-{n}", channels=["telegram"], recipient=chat))[0]
            for n in range(10)
        )

    # Then all arrive, none refused, each chat's in acceptance order
    telegram.wait_for(20, timeout=DRAIN_TIMEOUT)
    all_final(chats["1001"] + chats["1002"])
    assert telegram.refused == []
    order = [(r.json()["chat_id"], r.json()["text"], r.at) for r in telegram.requests]
    order.sort(key=lambda item: item[2])
    for chat in chats:
        assert [text for c, text, _ in order if c == chat] == [f"{chat}-{n}" for n in range(10)]
        in_chat = [r for r in telegram.requests if r.json()["chat_id"] == chat]
        assert most_in_window(in_chat, 1.0) <= 5
    # …and side by side: neither chat's fifth message waited for the other's last one
    # (one chat after the other would put the second chat's all after the first's last)
    times = {chat: [at for c, _, at in order if c == chat] for chat in chats}
    assert times["1002"][4] < times["1001"][-1]
    assert times["1001"][4] < times["1002"][-1]


def test_a_discord_webhook_follows_the_bucket_its_answers_announce(
    api, account, discord, celery_worker
):
    # Given a Discord webhook announcing a bucket of 5 requests per 2 s in its
    # X-RateLimit-* headers, and refusing a sixth within the window
    discord.announce(5, 2.0)
    # …and a channel allowed 10 a second: faster than the bucket, so only following the
    # announced windows (a pause when one is used up) keeps it from a 429
    ChannelConfig.objects.create(
        account=account,
        kind="discord",
        config={"webhook_url": f"{discord.url}/api/webhooks/1/abc", "max_per_second": 10},
    )

    # When 12 messages are accepted for it
    ids = [delivery_ids(send(api, f"d{n}", channels=["discord"]))[0] for n in range(12)]

    # Then none is refused: the windows the answers told were followed, in order
    discord.wait_for(12, timeout=DRAIN_TIMEOUT)
    all_final(ids)
    assert discord.refused == []
    assert len(discord.requests) == 12
    assert arrived(discord.requests, "content") == [f"d{n}" for n in range(12)]


RETRY_AFTER = 3
# The fake's clock (monotonic) and the pacing store's (wall) may differ by this much.
CLOCK_SLACK = 0.01


def _refused_then_paused(api, account, slack) -> tuple[list[str], list[Received]]:
    """Five messages to a Slack webhook whose first answer is a 429 asking to wait
    RETRY_AFTER seconds: their ids and the requests after the 429, once all arrived."""
    slack_config(account, slack, rate=10)
    slack.answer(Canned(429, "rate_limited", headers={"Retry-After": str(RETRY_AFTER)}))
    ids = [delivery_ids(send(api, f"p{n}"))[0] for n in range(5)]
    slack.wait_for(6, timeout=DRAIN_TIMEOUT)
    all_final(ids)
    first, *later = sorted(slack.requests, key=lambda r: r.at)
    assert first.json()["text"] == "p0"  # the head was refused
    # No request to the destination during the pause
    assert later[0].at - first.at >= RETRY_AFTER - CLOCK_SLACK, later[0].at - first.at
    return ids, later


def test_a_429_pauses_the_destination_and_the_refused_one_goes_first(
    api, account, slack, celery_worker
):
    ids, later = _refused_then_paused(api, account, slack)

    # The refused one is sent first after the pause, the others after it, in order
    assert arrived(later) == ["p0", "p1", "p2", "p3", "p4"]
    attempts = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "attempts"))
    assert attempts == {ids[0]: 2, **{pk: 1 for pk in ids[1:]}}


def test_a_429_pauses_the_webhook_for_every_account_posting_to_it(
    api, account, slack, make_account, make_api_client, celery_worker
):
    # Given a second account posting to the same Slack webhook: another destination (its
    # order is its own), but the same provider limit, so the same bucket
    other = make_account()
    slack_config(other, slack, rate=10)

    # When the first account's first request is refused with a 429, and only then the
    # other account sends (nothing of its was in flight before the refusal)
    slack.answer(Canned(429, "rate_limited", headers={"Retry-After": str(RETRY_AFTER)}))
    slack_config(account, slack, rate=10)
    ids = [delivery_ids(send(api, f"p{n}"))[0] for n in range(3)]
    [refused] = slack.wait_for(1, timeout=DRAIN_TIMEOUT)
    other_api = make_api_client(other)
    ids += [delivery_ids(send(other_api, f"q{n}"))[0] for n in range(3)]

    # Then no request reaches the webhook during the pause, from either account
    slack.wait_for(7, timeout=DRAIN_TIMEOUT)
    all_final(ids)
    later = sorted(slack.requests, key=lambda r: r.at)[1:]
    assert later[0].at - refused.at >= RETRY_AFTER - CLOCK_SLACK, later[0].at - refused.at
    # …and each account's messages arrive once, in its own order
    texts = arrived(later)
    assert [text for text in texts if text.startswith("p")] == ["p0", "p1", "p2"]
    assert [text for text in texts if text.startswith("q")] == ["q0", "q1", "q2"]


def test_a_retried_delivery_holds_the_later_ones_of_its_destination(
    api, account, slack, celery_worker
):
    # Given a webhook that fails twice with a transient error (500: Slack's own trouble)
    slack_config(account, slack, rate=10)
    slack.answer(Canned(500, "rollup_error"), Canned(500, "rollup_error"))

    # When five messages are accepted for it
    ids = [delivery_ids(send(api, f"r{n}"))[0] for n in range(5)]

    # Then the first is retried until it goes through, and only then the others, in order
    slack.wait_for(7, timeout=DRAIN_TIMEOUT)
    all_final(ids)
    assert arrived(slack.requests) == ["r0", "r0", "r0", "r1", "r2", "r3", "r4"]
    assert not any("sent ahead of" in step.detail for pk in ids for step in _steps(pk))


def _steps(delivery_id: str):
    return Delivery.objects.get(pk=delivery_id).steps


def test_after_the_order_hold_the_later_ones_go_on_and_the_timeline_says_so(
    api, account, slack, settings, celery_worker
):
    # Given a retry due in 10 s, and retried deliveries holding the others 1 s only
    # (the gate may hold a few seconds more: what matters is the hold ends before the retry)
    settings.ONEPING_DELIVERY_RETRY_SCHEDULE = [10.0]
    settings.ONEPING_DELIVERY_RETRY_JITTER = 0
    settings.ONEPING_PACING_ORDER_WAIT_SECONDS = 1
    slack_config(account, slack, rate=10)
    slack.answer(Canned(500, "rollup_error"))

    # When five messages are accepted for the webhook
    ids = [delivery_ids(send(api, f"h{n}"))[0] for n in range(5)]

    # Then after the hold the others go on, and the retried one arrives last
    slack.wait_for(6, timeout=DRAIN_TIMEOUT)
    all_final(ids)
    requests = sorted(slack.requests, key=lambda r: r.at)
    assert arrived(requests) == ["h0", "h1", "h2", "h3", "h4", "h0"]
    assert requests[1].at - requests[0].at >= 1 - CLOCK_SLACK  # they did wait the hold
    # …and their timelines say whom they overtook
    for pk in ids[1:]:
        notes = [step.detail for step in _steps(pk) if step.status == Status.SENDING]
        assert any(f"sent ahead of {ids[0]}" in note for note in notes), notes


def test_two_worker_processes_together_keep_a_destinations_rate(
    api, account, slack, processes, empty_queue, monkeypatch
):
    # Given two worker processes (each a prefork pool of 2) sharing the broker, the
    # database and the pacing store, both ready; the tasks they receive are logged
    monkeypatch.setenv("ONEPING_TEST_WORKER_LOGLEVEL", "INFO")
    workers = [processes.worker("worker-a"), processes.worker("worker-b")]
    for worker in workers:
        wait_until(
            lambda worker=worker: (
                " ready." in worker.log.read_text(errors="replace") or not worker.alive
            ),
            timeout=120,
            interval=0.2,
        )
        assert worker.alive, worker.log_tail()

    # When 24 messages are accepted for one Slack webhook allowing 4 a second, together
    # they stayed within the rate, in order…
    _four_a_second(api, account, slack, 24)

    # …and both workers took part
    for worker in workers:
        log = worker.log.read_text(errors="replace")
        assert "channels_app.deliver[" in log, worker.log_tail()


def test_a_slow_chat_holds_up_no_other_destination(
    api, account, telegram, slack, discord, smtp, celery_worker
):
    # Given a bot whose chats get 0.2 messages a second, and other channels
    configs = {
        "telegram": {"bot_token": TELEGRAM_TOKEN, "max_per_second": 0.2},
        "slack": {"webhook_url": f"{slack.url}/services/T000/B000/XXXX"},
        "discord": {"webhook_url": f"{discord.url}/api/webhooks/1/abc"},
        "email": email_config(smtp),
    }
    for kind, config in configs.items():
        ChannelConfig.objects.create(account=account, kind=kind, config=config)
    Contact.objects.create(
        account=account, identifier="ann@example.com", addresses={"telegram": "2002"}
    )

    # When five messages are accepted for one chat, then one for each other destination
    slow = [
        delivery_ids(send(api, f"s{n}", channels=["telegram"], recipient="1001"))[0]
        for n in range(5)
    ]
    others = delivery_ids(
        send(
            api,
            "other",
            channels=["telegram", "slack", "discord", "email"],
            recipient="ann@example.com",
        )
    )

    # Then the others are all delivered while the slow chat is still at its second
    # message: its third cannot come before 2 / 0.2 s after its first
    all_final(others)
    to_slow = [r for r in telegram.requests if r.json()["chat_id"] == "1001"]
    assert len(to_slow) <= 2, arrived(to_slow)
    assert [r.json()["text"] for r in telegram.requests if r.json()["chat_id"] == "2002"] == [
        "other"
    ]
    assert arrived(slack.requests) == ["other"]
    assert arrived(discord.requests, "content") == ["other"]
    assert len(smtp.messages) == 1
    # …and the slow chat still gets all five, in order
    telegram.wait_for(6, timeout=DRAIN_TIMEOUT)
    all_final(slow)
    slow_arrivals = [r for r in telegram.requests if r.json()["chat_id"] == "1001"]
    assert arrived(slow_arrivals) == [f"s{n}" for n in range(5)]
