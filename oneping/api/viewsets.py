"""Base classes that scope every API query to the caller's account, in one place."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.serializers import Serializer


class AccountScopedMixin:
    """Filters the queryset to request.account and stamps it on created objects.

    Another account's object is simply not in the queryset, so it answers 404, never 403:
    the API does not confirm that an id exists elsewhere.
    """

    account_field = "account"
    # What an API key needs here, when not the default rule (accounts.scopes): a view or one
    # @action(...) sets these; DRF only accepts @action keywords the class already has.
    required_scope: str | tuple[str, ...] | None = None
    reads_messages = False
    reveals_secret = False
    # Ids are printable: a NUL in the URL is no id (PostgreSQL refuses it in a query).
    lookup_value_regex = "[^/.\x00]+"

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()  # type: ignore[misc]
        return queryset.filter(**{self.account_field: self.request.account})  # type: ignore[attr-defined]


# Serializers only validate; the app's service acts on what they validated, as for the
# dashboard's forms (oneping.apiforms). A subclass names the service's functions,
# `creates(account, **fields)` and `updates(instance, **fields)`, each returning the row, or
# overrides perform_create/perform_update. (No docstring: drf-spectacular would make it
# the OpenAPI description of every subclass's operations.)
class AccountScopedViewSet(AccountScopedMixin, viewsets.ModelViewSet):
    creates: Callable[..., Any]
    updates: Callable[..., Any]

    def perform_create(self, serializer: Serializer) -> None:
        serializer.instance = self.creates(self.request.account, **serializer.validated_data)

    def perform_update(self, serializer: Serializer) -> None:
        serializer.instance = self.updates(serializer.instance, **serializer.validated_data)


# Mixed into a serializer of an AccountScopedViewSet (first, before the DRF class): it
# validates, and the view hands validated_data to the app's service (as ApiForm.submit does
# for the dashboard), so a save() that would write the row itself is refused. (A comment,
# not a docstring: drf-spectacular would make it the description of every such component.)
class ValidatesOnly:
    def save(self, **kwargs: Any) -> Any:
        raise NotImplementedError("Serializers validate; the app's service acts on validated_data.")


class AccountScopedReadOnlyViewSet(AccountScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass
