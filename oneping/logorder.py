"""Newest-first lists of big tables that only an account's own index can answer.

Every log is `WHERE account_id = … ORDER BY id DESC LIMIT n`. Two indexes give that order:
the primary key (walked backwards, filtering out other accounts' rows) and the account's
(account_id, id DESC) index. When an account owns much of a table, PostgreSQL's estimate
favours the primary key, and then reads every newer row of every other account before the
first of this one: 90 ms behind 400 k such rows, against 0.07 ms through the account's index
(docs/benchmarks.md, finding 5). Statistics do not capture that correlation, so the order
is put where the primary key cannot give it: the id compared byte by byte (COLLATE "C"),
which only the account indexes are built on. Ids are ASCII, so byte order is time order.

Models whose indexes are built on `Bytewise("id")` list through `with_log_key`; pagination
(API and dashboard) then orders and seeks by `log_key` instead of `pk`.
"""

from django.db.models import F, Func, QuerySet

LOG_KEY = "log_key"


class Bytewise(Func):
    """`expression COLLATE "C"` on PostgreSQL, `COLLATE BINARY` (the same order) on SQLite."""

    template = '%(expressions)s COLLATE "C"'
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="%(expressions)s COLLATE BINARY", **extra_context
        )


def log_index_key():
    """The id part of an account index the log can be read from, newest first."""
    return Bytewise(F("id")).desc()


def with_log_key(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(**{LOG_KEY: Bytewise(F("pk"))})


def order_field(queryset: QuerySet) -> str:
    """What to order and seek a page by: `log_key` where with_log_key was applied."""
    return LOG_KEY if LOG_KEY in queryset.query.annotations else "pk"
