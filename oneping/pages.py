"""Keyset pagination for dashboard lists: newest first, by the time-ordered primary key.

No COUNT(*) and no OFFSET, so a page costs the same on the millionth row as on the first.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from oneping.logorder import order_field

PAGE_SIZE = 25


@dataclass
class Page:
    items: list[Any]
    has_older: bool
    has_newer: bool
    older_query: str
    newer_query: str

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def paginate(
    request: HttpRequest, queryset: QuerySet, per_page: int = PAGE_SIZE, *, prefix: str = ""
) -> Page:
    """One page of `queryset`. `prefix` names the page's parameters (`<prefix>before`,
    `<prefix>after`) when a page shows two lists, each paged on its own."""
    before_param, after_param = f"{prefix}before", f"{prefix}after"
    before = request.GET.get(before_param)
    after = request.GET.get(after_param)
    params = request.GET.copy()
    params.pop(before_param, None)
    params.pop(after_param, None)
    key = order_field(queryset)
    if after:
        rows = list(queryset.filter(**{f"{key}__gt": after}).order_by(key)[: per_page + 1])
        has_newer = len(rows) > per_page
        items = list(reversed(rows[:per_page]))
        has_older = True
    else:
        if before:
            queryset = queryset.filter(**{f"{key}__lt": before})
        rows = list(queryset.order_by(f"-{key}")[: per_page + 1])
        has_older = len(rows) > per_page
        items = rows[:per_page]
        has_newer = bool(before)
    older, newer = params.copy(), params.copy()
    if items:
        older[before_param] = items[-1].pk
        newer[after_param] = items[0].pk
    return Page(items, has_older, has_newer, older.urlencode(), newer.urlencode())
