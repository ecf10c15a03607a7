"""A delivery's fate as the message page shows it: the steps it reached on its way to the
recipient (sent → delivered → opened → clicked; read for a chat app), each with when it was
first reported, or the failure that ended it (bounced with its kind and the provider's
reason, complained, failed with the error).

Read from what is already stored: the delivery's timeline (every provider report lands
there, those that changed nothing too, channels_app.reports) and its failure reports
(ProviderReport keeps a bounce's kind and the provider's own description). Both come
prefetched (messages_pages.message_detail), so the page costs no query per delivery. The
link of the first click comes the same way, as an annotation (first_click_url), and the
counts of opens and clicks are the delivery's own (Delivery.opens, .clicks).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KT

from channels_app.integrations import REGISTRY, get_integration
from channels_app.models import Delivery, ProviderReport, TimelineEntry

Status = Delivery.Status

# Steps whose reports may repeat (every open and click is its own report): counted.
REPEATING = {Status.OPENED, Status.READ, Status.CLICKED}
# What a failure implies was reached before it, when no report said so: a bounce comes
# from the receiving side, so the message was sent; a complaint comes from the recipient,
# so it was delivered.
IMPLIED_BY_FAILURE = {Status.BOUNCED: Status.SENT, Status.COMPLAINED: Status.DELIVERED}
BOUNCE_KINDS = {
    "hard": "hard bounce: the address does not accept mail",
    "soft": "soft bounce: the address may accept mail later",
}


@dataclass
class Step:
    status: str
    label: str
    reached: bool = False
    # When the first report of it arrived; None when reached only by implication (a click
    # without an open report: images were blocked).
    at: datetime | None = None
    # Reports of it after the first (later opens, later clicks).
    repeats: int = 0
    # The link the first click report names (clicked only).
    link: str = ""


@dataclass
class Failure:
    status: str
    label: str
    at: datetime | None
    reason: str
    bounce_kind: str = ""


@dataclass
class Fate:
    steps: list[Step] = field(default_factory=list)
    failure: Failure | None = None
    # Every open and click reported, in all rounds (Delivery.opens, .clicks).
    opens: int = 0
    clicks: int = 0

    @property
    def reached(self) -> list[Step]:
        return [step for step in self.steps if step.reached]


def fate_of(delivery: Delivery) -> Fate:
    """The delivery's fate in its latest round of attempts (a manual retry starts a new
    one: reports about the earlier send are history, still on the timeline below)."""
    entries = _latest_round(list(delivery.timeline.all()))
    # The steps its kind can report, in the order a message reaches its recipient.
    path = fate_steps(delivery.channel)
    steps = [Step(status, Status(status).label) for status in path]
    by_status = {step.status: step for step in steps}
    for entry in entries:
        step = by_status.get(entry.status)
        if step is None:
            continue
        if step.at is None:
            step.at = entry.at
        else:
            step.repeats += 1
    furthest = max((n for n, step in enumerate(steps) if step.at is not None), default=-1)
    implied = IMPLIED_BY_FAILURE.get(delivery.status)
    if delivery.status in by_status:
        furthest = max(furthest, path.index(delivery.status))
    if implied in by_status:
        furthest = max(furthest, path.index(implied))
    for step in steps[: furthest + 1]:
        step.reached = True
    for step in steps:
        if step.status not in REPEATING:
            step.repeats = 0
    if Status.CLICKED in by_status:
        by_status[Status.CLICKED].link = getattr(delivery, "first_click_url", None) or ""
    failure = _failure(delivery, entries) if delivery.status in Delivery.ENDED_FAILED else None
    return Fate(steps=steps, failure=failure, opens=delivery.opens, clicks=delivery.clicks)


def first_click_url() -> Subquery:
    """For Delivery.objects.annotate(first_click_url=…): the link its first click report
    names (payload "click_url", as oneping's own tracking and every provider's report keep
    it). One subquery in the deliveries' query: no query per delivery, and none of the
    possibly many click reports loaded."""
    clicks = ProviderReport.objects.filter(
        delivery=OuterRef("pk"), reported_status=ProviderReport.Reported.CLICKED
    ).order_by("received_at", "pk")
    return Subquery(clicks.values(url=KT("payload__click_url"))[:1])


def _latest_round(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """The entries since the delivery was last queued (a manual retry queues it again)."""
    starts = [n for n, entry in enumerate(entries) if entry.status == Status.QUEUED]
    return entries[starts[-1] :] if starts else entries


def _failure(delivery: Delivery, entries: list[TimelineEntry]) -> Failure:
    at = next((entry.at for entry in entries if entry.status == delivery.status), None)
    report = _failure_report(delivery)
    reason = (report.error_text if report else "") or delivery.last_error
    if not reason and delivery.status == Status.COMPLAINED:
        reason = "The recipient marked the message as spam."
    kind = BOUNCE_KINDS.get(report.bounce_type, report.bounce_type) if report else ""
    return Failure(
        status=delivery.status,
        label=Status(delivery.status).label,
        at=at,
        reason=reason,
        bounce_kind=kind if delivery.status == Status.BOUNCED else "",
    )


def _failure_report(delivery: Delivery) -> ProviderReport | None:
    """The first report of the delivery's failure status (the one that made it so)."""
    return next(
        (report for report in delivery.reports.all() if report.reported_status == delivery.status),
        None,
    )


def fate_steps(kind: str) -> tuple[str, ...]:
    """The steps a kind's deliveries can reach (Integration.fate_steps); a kind no longer
    registered shows sent and delivered."""
    if kind in REGISTRY:
        return get_integration(kind).fate_steps
    return (Status.SENT, Status.DELIVERED)
