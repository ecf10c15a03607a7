import django_filters

from webhooks.events import EVENT_TYPES
from webhooks.models import Event


class EventFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=[(t, t) for t in EVENT_TYPES])
    message = django_filters.CharFilter(field_name="message_id")

    class Meta:
        model = Event
        fields = ["type", "message"]
