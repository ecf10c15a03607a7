"""GET /api/v1/usage?months=12 (`read`): the account's usage history, newest month first
(channels_app.usage_history reads it from the rollup, never from the message log)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app import usage_history
from oneping.api.schema import error_doc


class UsageQuerySerializer(serializers.Serializer):
    months = serializers.IntegerField(
        min_value=1,
        max_value=usage_history.MAX_MONTHS,
        default=usage_history.DEFAULT_MONTHS,
        help_text="How many months, the current one included (1 to 24; 12 by default).",
    )


MONTH_FIELDS = {
    "month": serializers.CharField(help_text="The UTC month, YYYY-MM."),
    "used": serializers.IntegerField(
        help_text="Messages counted against the quota (a test key: its test environment's "
        "messages, counted against its daily cap, summed over the month)."
    ),
    "limit": serializers.IntegerField(
        allow_null=True,
        help_text="The monthly quota in force: the plan's now for the current month, the "
        "one of the month's last message for a past month; null for a past month without "
        "messages, and always for a test key (a daily cap applies, not a monthly quota).",
    ),
    "plan": serializers.CharField(
        allow_null=True, help_text="The plan's name, alike (`free`, `pro`, …)."
    ),
    "by_channel": serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Deliveries of the month's messages per channel, as the message log "
        "lists them (channel tests included: they are in the log, but not in `used`).",
    ),
    "by_status": serializers.DictField(
        child=serializers.IntegerField(),
        help_text="The same deliveries by their current status: the final ones (sent, "
        "delivered, read, opened, clicked, failed, bounced, complained, skipped) and "
        "`pending` for those not final yet (standby, queued, sending, retrying).",
    ),
    "projected": serializers.IntegerField(
        required=False,
        help_text="The current month only: `used` ÷ the elapsed fraction of the month, rounded.",
    ),
}


class UsageView(GenericAPIView):
    """The account's usage per month: messages used against the limit, with the plan, and
    the month's deliveries by channel and by status. Months without traffic are zeros."""

    serializer_class = UsageQuerySerializer
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("months", int, description="How many months (1 to 24; 12 by default).")
        ],
        responses={
            200: inline_serializer(
                "UsageHistory", {"data": inline_serializer("UsageMonth", MONTH_FIELDS, many=True)}
            ),
            400: error_doc("`validation_error`: `months` is not a whole number from 1 to 24."),
        },
    )
    def get(self, request: Request) -> Response:
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        months = usage_history.history(request.account, query.validated_data["months"])
        return Response({"data": [month.as_json() for month in months]})
