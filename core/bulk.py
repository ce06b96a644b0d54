"""One upsert for many rows, keyed on a unique constraint: what syncs and the nightly health run write with.

On PostgreSQL the rows go to `INSERT … ON CONFLICT DO UPDATE` (or `DO NOTHING` when no field is to be updated)
without a model instance per row, which costs more than the insert itself at a thousand rows a second:
  - by default through psycopg2's execute_values, one statement per 1,000 rows;
  - with `one_statement=True` as a single JSON document that `json_to_recordset` turns back into typed columns, so
    the statement count stays the same however many rows there are (the health recompute of 100,000 accounts).
Elsewhere (SQLite in development and tests) Django's bulk_create does the same, more slowly.
"""

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models


def bulk_upsert(
    model: type[models.Model],
    rows: Iterable[Mapping[str, Any]],
    *,
    unique_fields: list[str],
    update_fields: list[str],
    one_statement: bool = False,
) -> None:
    """Each row is {field name or attname: value} with the same keys; a row whose unique fields exist updates
    update_fields (or is left as it is, when update_fields is empty)."""
    rows = list(rows)
    if not rows:
        return
    if connection.vendor != "postgresql":
        conflicts: dict[str, Any] = (
            {"update_conflicts": True, "unique_fields": unique_fields, "update_fields": update_fields}
            if update_fields
            else {"ignore_conflicts": True}
        )
        model._base_manager.bulk_create([model(**row) for row in rows], **conflicts)
        return
    names = list(rows[0])  # field names or attnames ("organization_id"), as the rows give them
    fields: dict[str, models.Field] = {}
    for field in model._meta.concrete_fields:
        fields[field.name] = fields[field.attname] = field
    quote = connection.ops.quote_name
    columns = ", ".join(quote(fields[name].column) for name in names)
    on_conflict = f"ON CONFLICT ({', '.join(quote(fields[name].column) for name in unique_fields)}) " + (
        "DO UPDATE SET "
        + ", ".join(f"{quote(fields[name].column)} = EXCLUDED.{quote(fields[name].column)}" for name in update_fields)
        if update_fields
        else "DO NOTHING"
    )
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if one_statement:
            record = ", ".join(f"{quote(fields[name].column)} {fields[name].db_type(connection)}" for name in names)
            sql = (
                f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names come from the model
                f"SELECT {columns} FROM json_to_recordset(%s::json) AS t({record}) {on_conflict}"
            )
            cursor.execute(sql, [_json_document(rows, names, fields)])
            return
        from psycopg2.extras import Json, execute_values

        json_names = {name for name in names if isinstance(fields[name], models.JSONField)}
        values = [tuple(Json(row[name]) if name in json_names else row[name] for name in names) for row in rows]
        sql = f"INSERT INTO {table} ({columns}) VALUES %s {on_conflict}"  # noqa: S608 - names come from the model
        execute_values(cursor.cursor, sql, values, page_size=1000)


def _json_document(rows: list[Mapping[str, Any]], names: list[str], fields: dict[str, models.Field]) -> str:
    """The rows as one JSON array keyed by column. Dates and times become ISO strings first, once per distinct value
    (a day's rows repeat today and now), so the C encoder never calls back into Python for them."""
    iso: dict[Any, str] = {}
    temporal = [name for name in names if isinstance(rows[0][name], date)]  # datetime too
    keys = [(name, fields[name].column) for name in names]
    records = []
    for row in rows:
        record = {column: row[name] for name, column in keys}
        for name in temporal:
            value = row[name]
            if value not in iso:
                iso[value] = value.isoformat()
            record[fields[name].column] = iso[value]
        records.append(record)
    return json.dumps(records, cls=DjangoJSONEncoder)
