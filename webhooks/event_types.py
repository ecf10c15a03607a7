"""The event types endpoints can ask for, and which of them are opt-in.

Kept apart from webhooks.events so the models (WebhookEndpoint.wants) can read them
without importing the event machinery, which imports the models.
"""

# Delivery statuses customers hear about, as message.<status> events.
MESSAGE_STATUSES = (
    "sent",
    "delivered",
    "read",
    "retrying",
    "failed",
    "bounced",
    "complained",
    "opened",
    "clicked",
)
TEST_EVENT = "webhook.test"
# 80 % and 100 % of the month's quota used (accounts.quota_warnings).
QUOTA_WARNING_EVENT = "account.quota_warning"
EVENT_TYPES = (
    *(f"message.{status}" for status in MESSAGE_STATUSES),
    TEST_EVENT,
    QUOTA_WARNING_EVENT,
)
# Sent only to endpoints whose event_types name them: an endpoint that takes every event
# (empty event_types) was set up for message statuses, and its receiver may not expect,
# or may mishandle, an event about the account itself.
OPT_IN_EVENT_TYPES = frozenset({QUOTA_WARNING_EVENT})
