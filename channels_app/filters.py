from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django_filters.fields import IsoDateTimeField

from channels_app.integrations import channel_kinds
from channels_app.models import Delivery, Message

# Taken at import: drf-spectacular documents a filter's choices only when they are a list.
CHANNEL_CHOICES = [(kind, kind) for kind in channel_kinds()]


class _UtcIsoDateTimeField(IsoDateTimeField):
    def clean(self, value):
        moment = super().clean(value)
        try:
            # What the database adapter does next; year 1 at +14:00 is before year 1 in UTC.
            if moment is not None:
                moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("The date is out of range.", code="invalid") from None
        return moment


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _UtcIsoDateTimeField


class MessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Message.Status.choices)
    channel = django_filters.ChoiceFilter(choices=CHANNEL_CHOICES, method="filter_channel")
    recipient = django_filters.CharFilter()
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = ["status", "channel", "recipient", "created_after", "created_before"]

    def filter_channel(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # EXISTS rather than a join: one row per message, no DISTINCT needed.
        on_channel = Delivery.objects.filter(message=OuterRef("pk"), channel=value)
        return queryset.filter(Exists(on_channel))


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)
    channel = django_filters.ChoiceFilter(choices=CHANNEL_CHOICES)
    message = django_filters.CharFilter(field_name="message_id")

    class Meta:
        model = Delivery
        fields = ["status", "channel", "message"]
