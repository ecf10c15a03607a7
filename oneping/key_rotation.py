"""Re-encrypting every stored secret with the first of ONEPING_ENCRYPTION_KEYS.

Retiring a key takes three steps: put the new key first (every process then encrypts with
it and still reads rows under the old one), run `manage.py rotate_encryption_keys`, then
drop the old key. The command rewrites each encrypted column (every EncryptedTextField and
EncryptedJSONField of every model, found by type so a new one is never forgotten) with
MultiFernet.rotate: https://cryptography.io/en/latest/fernet/#cryptography.fernet.MultiFernet.rotate

Rows are read and written as the stored tokens (never decrypted into a model), one small
batch at a time, and each write only applies if the row still holds the token that was
read: a secret changed meanwhile was written by its process under the first key already.
A run can be repeated; rows already under the first key are left alone.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models.lookups import Exact

from oneping.crypto import EncryptedJSONField, EncryptedTextField, fernet

# Stored tokens read per query (a keyset page, so no long transaction and bounded memory);
# each row of a page is then rewritten by its own conditional UPDATE.
ROWS_PER_PAGE = 500


@dataclass
class FieldCount:
    """What a rotation did to one model's field."""

    field: str  # "app_label.Model.field"
    rotated: int = 0  # re-encrypted with the first key
    current: int = 0  # already under the first key
    changed: int = 0  # rewritten by someone else between our read and our write
    unreadable: int = 0  # no key of ONEPING_ENCRYPTION_KEYS decrypts it


def encrypted_fields() -> list[tuple[type[models.Model], models.Field]]:
    return [
        (model, field)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField | EncryptedJSONField)
    ]


def rotate_all(batch: int = ROWS_PER_PAGE) -> list[FieldCount]:
    return [rotate_field(model, field, batch) for model, field in encrypted_fields()]


def rotate_field(
    model: type[models.Model], field: models.Field, batch: int = ROWS_PER_PAGE
) -> FieldCount:
    count = FieldCount(f"{model._meta.label}.{field.name}")
    every_key = fernet()  # first: refuses malformed keys with a clear message
    first = Fernet(settings.ONEPING_ENCRYPTION_KEYS[0].encode())
    for pk, token in _stored_tokens(model, field, batch):
        outcome: str | None = "changed"
        for _ in range(3):  # a row rewritten meanwhile is read again
            outcome = _rotate_row(model, field, pk, token, first, every_key)
            if outcome != "changed":
                break
            token = _stored(model, field).filter(pk=pk).values_list(_raw(field), flat=True).first()
            if token is None:
                outcome = None  # deleted meanwhile: nothing left to rotate
                break
        if outcome:
            setattr(count, outcome, getattr(count, outcome) + 1)
    return count


def _rotate_row(model, field, pk, token: str, first: Fernet, every_key) -> str:
    """Which FieldCount counter this row adds to."""
    try:
        first.decrypt(token.encode())
        return "current"
    except InvalidToken:
        pass
    try:
        rotated = every_key.rotate(token.encode()).decode()
    except InvalidToken:
        return "unreadable"
    written = (
        _stored(model, field)
        .filter(Exact(_raw(field), token), pk=pk)
        .update(**{field.attname: models.Value(rotated, output_field=models.TextField())})
    )
    return "rotated" if written else "changed"


def _raw(field: models.Field) -> models.Expression:
    """The column as stored: a plain text column, so no decryption on read or lookup."""
    return models.ExpressionWrapper(models.F(field.attname), output_field=models.TextField())


def _stored(model: type[models.Model], field: models.Field) -> models.QuerySet:
    return model._base_manager.exclude(**{f"{field.attname}__isnull": True})


def _stored_tokens(
    model: type[models.Model], field: models.Field, batch: int
) -> Iterator[tuple[object, str]]:
    """(pk, token) in pk order, one batch per query (keyset pages: no long transaction)."""
    last = None
    while True:
        rows = _stored(model, field).annotate(_token=_raw(field)).order_by("pk")
        if last is not None:
            rows = rows.filter(pk__gt=last)
        page = list(rows.values_list("pk", "_token")[:batch])
        yield from page
        if len(page) < batch:
            return
        last = page[-1][0]
