from rest_framework.pagination import CursorPagination

from oneping.logorder import LOG_KEY, with_log_key


class NewestFirstCursorPagination(CursorPagination):
    """Cursor pages ordered by the public id, which is time-ordered (see oneping.ids)."""

    ordering = "-pk"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class LogCursorPagination(NewestFirstCursorPagination):
    """The same pages and cursors, ordered so only the account's index can serve them
    (oneping.logorder): for tables whose account indexes are built on Bytewise("id")."""

    ordering = f"-{LOG_KEY}"

    def paginate_queryset(self, queryset, request, view=None):
        return super().paginate_queryset(with_log_key(queryset), request, view)
