"""Writing many rows' own values in one round trip."""

from django.db import connections, router
from django.db.models import Model


def update_rows(objects: list[Model], fields: list[str]) -> None:
    """Save `fields` of every object (all of one model): one parameterised UPDATE per row,
    sent with executemany, which psycopg pipelines into one round trip.

    Django's bulk_update builds a CASE WHEN per field with one expression per row, and
    building those was the largest single cost of recording a batch of 32 deliveries
    (docs/benchmarks.md, session 3). No signals are sent, as with bulk_update."""
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    # Only quoted names from the model's own metadata are interpolated; values are params.
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    rows = [
        [column.get_db_prep_save(getattr(obj, column.attname), connection) for column in columns]
        + [meta.pk.get_db_prep_save(obj.pk, connection)]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
