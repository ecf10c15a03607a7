"""The usage history on the dashboard's plan page: a bar chart of the messages used per
month, drawn here as SVG (no script, nothing from a CDN), with the limit as a marker over
each month and the current month's projection as a dashed bar; below it, the same numbers
as a table (what a screen reader reads) and the deliveries by channel and by status.

The plan page lives in accounts, which may not import channels_app: this panel is
registered with it at startup (channels_app.apps).
"""

from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

from channels_app.rollup import PENDING
from channels_app.usage_history import DEFAULT_MONTHS, Month, history

WIDTH = 640
HEIGHT = 220
LEFT = 44  # room for the scale's numbers
BOTTOM = 24  # room for the months' names
TOP = 12
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
PLOT_WIDTH = WIDTH - LEFT - 8


@dataclass(frozen=True)
class Bar:
    month: Month
    x: float
    width: float
    y: float
    height: float
    # The projection's dashed bar (current month), and the limit's marker: None if none.
    projected_y: float | None
    limit_y: float | None

    @property
    def label_x(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def projected_height(self) -> float:
        return round(self.y - self.projected_y, 1) if self.projected_y is not None else 0

    @property
    def limit_x1(self) -> float:
        return round(self.x - 4, 1)

    @property
    def limit_x2(self) -> float:
        return round(self.x + self.width + 4, 1)

    @property
    def describe(self) -> str:
        text = f"{self.month.month:%B %Y}: {self.month.used} used"
        if self.month.limit is not None:
            text += f" of {self.month.limit}"
        if self.month.projected is not None and self.month.current:
            text += f", {self.month.projected} projected"
        return text


def scale_top(months: list[Month]) -> int:
    """A round number above every bar, projection and limit drawn."""
    values = [m.used for m in months] + [m.projected or 0 for m in months]
    values += [m.limit for m in months if m.limit is not None]
    top = max([*values, 1])
    step = 10 ** max(len(str(top)) - 1, 0)
    return -(-top // step) * step


def bars(months: list[Month]) -> tuple[list[Bar], int]:
    """The bars, oldest on the left, and the scale's top value."""
    top = scale_top(months)
    slot = PLOT_WIDTH / max(len(months), 1)

    def y_of(value: int) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - value / top), 1)

    drawn = []
    for n, month in enumerate(reversed(months)):
        y = y_of(month.used)
        projected = month.projected if month.current else None
        drawn.append(
            Bar(
                month=month,
                x=round(LEFT + n * slot + slot * 0.2, 1),
                width=round(slot * 0.6, 1),
                y=y,
                height=round(TOP + PLOT_HEIGHT - y, 1),
                projected_y=y_of(projected) if projected and projected > month.used else None,
                limit_y=y_of(month.limit) if month.limit is not None else None,
            )
        )
    return drawn, top


def channels_and_statuses(months: list[Month]) -> tuple[list[str], list[str]]:
    """The channels and statuses any shown month has, in a stable order (pending last)."""
    channels = sorted({channel for m in months for channel in m.by_channel})
    statuses = sorted({status for m in months for status in m.by_status} - {PENDING})
    if any(PENDING in m.by_status for m in months):
        statuses.append(PENDING)
    return channels, statuses


def usage_panel(request: HttpRequest) -> str:
    """The plan page's usage history of the account shown (the test environment's in test
    mode: accounts.middleware switches request.account)."""
    months = history(request.account, DEFAULT_MONTHS)
    drawn, top = bars(months)
    channels, statuses = channels_and_statuses(months)
    context = {
        "months": months,
        "bars": drawn,
        "top": top,
        "top_y": TOP,
        "half": top // 2,
        "scale_x": LEFT - 6,
        "half_y": TOP + PLOT_HEIGHT / 2,
        "base_y": TOP + PLOT_HEIGHT,
        "label_y": HEIGHT - 6,
        "left": LEFT,
        "right": WIDTH - 8,
        "width": WIDTH,
        "height": HEIGHT,
        "channels": channels,
        "statuses": statuses,
        "rows": [
            {
                "month": m,
                "channels": [m.by_channel.get(c, 0) for c in channels],
                "statuses": [m.by_status.get(s, 0) for s in statuses],
            }
            for m in months
        ],
        "livemode": request.account.livemode,
    }
    return render_to_string("channels_app/usage_history.html", context, request=request)
