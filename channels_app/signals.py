from django.dispatch import Signal

# Sent inside the transaction that changes deliveries' statuses, with `changes` (a list of
# (delivery, new status), possibly of several messages) and `locked_messages` (those of
# their Messages whose row lock the sender holds, by id; often empty). Higher apps
# (webhooks) subscribe in their AppConfig.ready(); channels_app never imports them.
# Receivers that talk to the outside world must defer with on_commit.
delivery_status_changed = Signal()
