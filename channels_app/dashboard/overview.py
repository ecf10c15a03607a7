"""The overview: usage, the last 14 days by status, recent failures, and onboarding."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Account, ApiKey
from accounts.permissions import account_view
from channels_app.models import ChannelConfig, Delivery, Message

CHART_DAYS = 14
CHART_HEIGHT = 120
BAR_WIDTH = 28
BAR_GAP = 12
GROUPS = {
    "delivered": ("delivered",),
    "failed": ("failed", "partially_failed"),
    "other": ("queued", "processing"),
}


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
        "recent_failures": Delivery.objects.filter(account=account, status="failed")
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
            "done": ChannelConfig.objects.filter(account=account).exists(),
        },
        {
            "title": "Send a test message",
            "url": "/channels/",
            "done": Message.objects.filter(account=account, is_test=True).exists(),
        },
        {
            "title": "See it delivered in the log",
            "url": "/messages/",
            "done": Message.objects.filter(account=account, status="delivered").exists(),
        },
    ]
