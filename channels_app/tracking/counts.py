"""Delivery.opens and Delivery.clicks: how many opens and clicks were reported, the first
(which moved the status) and every later one (a timeline entry only). Counted when a report
is applied, by whichever provider (oneping's own tracking, or an email provider's webhook),
in the transaction that applies it, so the counts and the timeline agree."""

from django.db.models import F

from channels_app.integrations.callbacks import CLICKED, OPENED
from channels_app.models import Delivery, ProviderReport

COUNTED = {OPENED: "opens", CLICKED: "clicks"}


def count(delivery: Delivery, report: ProviderReport) -> None:
    field = COUNTED.get(report.reported_status)
    if field is None:
        return
    Delivery.objects.filter(pk=delivery.pk).update(**{field: F(field) + 1})
