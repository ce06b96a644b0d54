"""One upsert for many rows, keyed on a unique constraint: what syncs write a thousand records a second with.

On PostgreSQL the rows go to `INSERT … ON CONFLICT DO UPDATE` through psycopg2's execute_values: building and
compiling a model instance per row costs more than the insert itself at that rate. Elsewhere (SQLite in
development) Django's bulk_create(update_conflicts=True) does the same, more slowly.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, models


def bulk_upsert(
    model: type[models.Model],
    rows: Iterable[Mapping[str, Any]],
    *,
    unique_fields: list[str],
    update_fields: list[str],
) -> None:
    """Each row is {field name: value} with the same fields; a row whose unique fields exist updates update_fields."""
    rows = list(rows)
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(
            [model(**row) for row in rows],
            update_conflicts=True,
            unique_fields=unique_fields,
            update_fields=update_fields,
        )
        return
    from psycopg2.extras import Json, execute_values

    names = list(rows[0])  # field names or attnames ("organization_id"), as the rows give them
    column = {}
    for field in model._meta.concrete_fields:
        column[field.name] = column[field.attname] = field.column
    json_names = {name for name in names if isinstance(model._meta.get_field(name), models.JSONField)}
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(column[name]) for name in names)}) VALUES %s "  # noqa: S608 - names come from the model
        f"ON CONFLICT ({', '.join(quote(column[name]) for name in unique_fields)}) DO UPDATE SET "
        + ", ".join(f"{quote(column[name])} = EXCLUDED.{quote(column[name])}" for name in update_fields)
    )
    values = [tuple(Json(row[name]) if name in json_names else row[name] for name in names) for row in rows]
    with connection.cursor() as cursor:
        execute_values(cursor.cursor, sql, values, page_size=1000)
