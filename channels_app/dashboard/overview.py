"""The overview: usage, the last 14 days by status, each channel's last 30 days by how far
its deliveries got, recent failures, and onboarding.

The two charts stay apart because they answer different questions: the 14-day one is the
account's volume over time (messages per day, in progress and failed ones too), the 30-day
one is each channel's fate (how many of its deliveries were delivered, bounced, opened,
clicked); folded into one, a day's bar would have to mix messages and deliveries.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Account, ApiKey
from accounts.permissions import account_view
from channels_app.integrations import REGISTRY
from channels_app.models import ChannelConfig, Delivery, Message
from oneping.ids import first_id_at
from oneping.logorder import LOG_KEY, Bytewise

CHART_DAYS = 14
CHART_HEIGHT = 120
BAR_WIDTH = 28
BAR_GAP = 12
GROUPS = {
    "delivered": ("delivered",),
    "failed": ("failed", "partially_failed"),
    "other": ("queued", "processing"),
}


# Each channel's deliveries of the last 30 days, by the stages they reached.
FUNNEL_DAYS = 30
STAGES = ("sent", "delivered", "bounced", "opened", "clicked")
# The stages a delivery's status says it reached: a delivery counts in each (a click implies
# the open, the delivery and the send; a bounce implies the send; a complaint came from the
# recipient, so it was delivered; a chat app's read receipt is its open). Decided from the
# status alone, so the count is one grouped query, not a walk through every timeline: a
# delivery that bounced after it was delivered counts as sent and bounced only, and a
# "failed" counts nowhere (the provider may never have had it).
REACHED: dict[str, tuple[str, ...]] = {
    Delivery.Status.SENT: ("sent",),
    Delivery.Status.DELIVERED: ("sent", "delivered"),
    Delivery.Status.READ: ("sent", "delivered", "opened"),
    Delivery.Status.OPENED: ("sent", "delivered", "opened"),
    Delivery.Status.CLICKED: ("sent", "delivered", "opened", "clicked"),
    Delivery.Status.BOUNCED: ("sent", "bounced"),
    Delivery.Status.COMPLAINED: ("sent", "delivered"),
}
FUNNEL_LABEL_WIDTH = 70
FUNNEL_BAR_WIDTH = 150
FUNNEL_ROW = 22
FUNNEL_BAR_HEIGHT = 14


@dataclass
class StageBar:
    stage: str
    count: int
    y: int
    width: int


@dataclass
class Funnel:
    channel: str
    bars: list[StageBar]

    @property
    def summary(self) -> str:
        """The chart in words, for screen readers (and anyone reading the page's text)."""
        counts = ", ".join(f"{bar.count} {bar.stage}" for bar in self.bars)
        return f"{self.channel}, last {FUNNEL_DAYS} days: {counts}"


@dataclass
class Bar:
    day: date
    x: int
    segments: list[tuple[str, int, int, int]]  # (group, y, height, count)
    total: int


@account_view()
def overview(request: HttpRequest) -> HttpResponse:
    account = request.account
    context = {
        "chart": chart(account),
        "chart_width": CHART_DAYS * (BAR_WIDTH + BAR_GAP),
        "chart_height": CHART_HEIGHT + 20,
        "funnels": funnels(account),
        "funnel": {
            "days": FUNNEL_DAYS,
            "width": FUNNEL_LABEL_WIDTH + FUNNEL_BAR_WIDTH + 40,
            "height": FUNNEL_ROW * len(STAGES),
            "label_width": FUNNEL_LABEL_WIDTH,
            "bar_width": FUNNEL_BAR_WIDTH,
            "bar_height": FUNNEL_BAR_HEIGHT,
        },
        # Every way a delivery can end failed: bounces and complaints are dead letters too.
        "recent_failures": Delivery.objects.filter(
            account=account, status__in=Delivery.ENDED_FAILED
        )
        .select_related("message")
        .order_by("-updated_at")[:5],
        "steps": onboarding(account),
    }
    context["onboarding_done"] = all(step["done"] for step in context["steps"])
    return render(request, "channels_app/overview.html", context)


def chart(account: Account) -> list[Bar]:
    today = timezone.now().date()
    first = today - timedelta(days=CHART_DAYS - 1)
    counts: dict[tuple[date, str], int] = {}
    rows = (
        Message.objects.filter(account=account, created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values("day", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        group = next(g for g, statuses in GROUPS.items() if row["status"] in statuses)
        counts[(row["day"], group)] = counts.get((row["day"], group), 0) + row["n"]
    peak = max([sum(counts.get((d, g), 0) for g in GROUPS) for d in _days(first)] + [1])
    bars = []
    for index, day in enumerate(_days(first)):
        y = CHART_HEIGHT
        segments = []
        for group in GROUPS:
            count = counts.get((day, group), 0)
            height = round(count / peak * (CHART_HEIGHT - 10))
            y -= height
            if count:
                segments.append((group, y, height, count))
        total = sum(segment[3] for segment in segments)
        bars.append(Bar(day=day, x=index * (BAR_WIDTH + BAR_GAP), segments=segments, total=total))
    return bars


def funnels(account: Account) -> list[Funnel]:
    """Per channel, how many of the last 30 days' deliveries reached each stage (REACHED).

    One grouped query over the account's deliveries since then: ids are time-ordered
    (oneping.ids), so "created since" is a range on the delivery_log index (account, id in
    byte order, oneping.logorder), and no index of its own is needed."""
    since = first_id_at(Delivery._meta.pk.prefix, timezone.now() - timedelta(days=FUNNEL_DAYS))
    rows = (
        Delivery.objects.filter(account=account)
        .alias(**{LOG_KEY: Bytewise(F("pk"))})
        .filter(**{f"{LOG_KEY}__gte": since})
        .values("channel", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        per_stage = counts.setdefault(row["channel"], dict.fromkeys(STAGES, 0))
        for stage in REACHED.get(row["status"], ()):
            per_stage[stage] += row["n"]
    order = list(REGISTRY)
    result = []
    for channel in sorted(counts, key=lambda kind: order.index(kind) if kind in order else 99):
        peak = max(max(counts[channel].values()), 1)
        bars = [
            StageBar(
                stage=stage,
                count=count,
                y=index * FUNNEL_ROW,
                width=round(count / peak * FUNNEL_BAR_WIDTH),
            )
            for index, (stage, count) in enumerate(counts[channel].items())
        ]
        result.append(Funnel(channel=channel, bars=bars))
    return result


def _days(first: date) -> list[date]:
    return [first + timedelta(days=n) for n in range(CHART_DAYS)]


def onboarding(account: Account) -> list[dict]:
    """The four steps from sign-up to a first delivered notification."""
    return [
        {
            "title": "Create an API key",
            "url": "/keys/",
            "done": ApiKey.objects.filter(account=account).exists(),
        },
        {
            "title": "Configure a channel",
            "url": "/channels/",
            # A test environment has every channel unconfigured (the simulator answers).
            "done": not account.livemode or ChannelConfig.objects.filter(account=account).exists(),
        },
        {
            "title": "Send a test message",
            "url": "/channels/",
            "done": Message.objects.filter(account=account, is_channel_test=True).exists(),
        },
        {
            "title": "See it delivered in the log",
            "url": "/messages/",
            "done": Message.objects.filter(account=account, status="delivered").exists(),
        },
    ]
