"""What accounts tells the apps above it (they connect in their AppConfig.ready(); accounts
imports none of them, see STYLE.md)."""

from django.dispatch import Signal

# A live account reached 80 % or 100 % of its monthly quota, once per period and level
# (accounts.quota_warnings). Keyword arguments: account, used, limit, percent (80 or 100),
# period_end (when the quota resets, an aware datetime). Sent by the worker, outside any
# send's transaction.
quota_warning = Signal()
