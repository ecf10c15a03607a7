from django.dispatch import Signal

# Sent inside the transaction that changes a delivery's status, with `delivery` and
# `status`. Higher apps (webhooks) subscribe in their AppConfig.ready(); channels_app never
# imports them. Receivers that talk to the outside world must defer with on_commit.
delivery_status_changed = Signal()
