import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from channels_app.integrations import KINDS
from channels_app.models import Delivery, Message

CHANNEL_CHOICES = [(kind, kind) for kind in KINDS]


class MessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Message.Status.choices)
    channel = django_filters.ChoiceFilter(choices=CHANNEL_CHOICES, method="filter_channel")
    recipient = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

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
