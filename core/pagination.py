"""Keyset (cursor) pagination and bounded counts: lists stay as fast on page 2,000 as on page 1.

OFFSET pagination reads and throws away every row before the page, so a deep page costs as much
as the rows above it. Here a cursor carries the last row's sort value and id, and the next page
starts from it with an index seek. Nullable sort columns are paged as two segments (values, then
NULLs) so that every query stays a plain range scan on the (organization, column, id) index.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet


class InvalidCursor(ValueError):  # noqa: N818 (reads as a condition: "invalid cursor")
    pass


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False
    nullable: bool = False

    @property
    def param(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None


@dataclass(frozen=True)
class _Position:
    segment: int  # 0: rows with a value, 1: rows whose sort value is NULL
    value: str | None
    row_id: int


def encode_cursor(direction: str, position: _Position) -> str:
    payload = json.dumps([direction, position.segment, position.value, position.row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, _Position]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        direction, segment, value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidCursor("Invalid cursor.") from exc
    if direction not in {"n", "p"} or segment not in {0, 1} or not isinstance(row_id, int):
        raise InvalidCursor("Invalid cursor.")
    if value is not None and not isinstance(value, str):
        raise InvalidCursor("Invalid cursor.")
    return direction, _Position(segment, value, row_id)


def _sort_value(row: Any, sort: SortKey) -> str | None:
    value = getattr(row, sort.field)
    return None if value is None else str(value)


def _position_of(row: Any, sort: SortKey) -> _Position:
    value = _sort_value(row, sort)
    return _Position(1 if value is None else 0, value, row.pk)


def _segment(queryset: QuerySet, sort: SortKey, segment: int, *, reverse: bool) -> QuerySet:
    descending = sort.descending != reverse
    if segment == 1:
        return queryset.filter(**{f"{sort.field}__isnull": True}).order_by("-pk" if descending else "pk")
    if sort.nullable:
        queryset = queryset.filter(**{f"{sort.field}__isnull": False})
    prefix = "-" if descending else ""
    return queryset.order_by(f"{prefix}{sort.field}", f"{prefix}pk")


def _after(queryset: QuerySet, sort: SortKey, position: _Position, *, reverse: bool) -> QuerySet:
    """Rows strictly after `position` in the walking direction, inside its segment."""
    descending = sort.descending != reverse
    beyond = "lt" if descending else "gt"
    if position.segment == 1:
        return queryset.filter(**{f"pk__{beyond}": position.row_id})
    field = sort.field
    # "col >= v AND (col > v OR id > i)": the first term is the index seek, the rest trims the ties.
    return queryset.filter(**{f"{field}__{beyond}e": position.value}).filter(
        Q(**{f"{field}__{beyond}": position.value}) | Q(**{f"pk__{beyond}": position.row_id})
    )


def _walk(queryset: QuerySet, sort: SortKey, start: _Position | None, limit: int, *, reverse: bool) -> list[Any]:
    """Up to `limit` rows from `start` (exclusive) in the walking direction, crossing segments as needed."""
    segments = [0, 1] if sort.nullable else [0]
    if reverse:
        segments.reverse()
    if start is not None:
        segments = segments[segments.index(start.segment) :]
    rows: list[Any] = []
    for segment in segments:
        segment_queryset = _segment(queryset, sort, segment, reverse=reverse)
        if start is not None and segment == start.segment:
            segment_queryset = _after(segment_queryset, sort, start, reverse=reverse)
        rows.extend(segment_queryset[: limit - len(rows)])
        if len(rows) >= limit:
            break
    return rows


def keyset_paginate(queryset: QuerySet, *, sort: SortKey, cursor: str | None, page_size: int) -> KeysetPage:
    if not cursor:
        rows = _walk(queryset, sort, None, page_size + 1, reverse=False)
        has_more = len(rows) > page_size
        rows = rows[:page_size]
        return KeysetPage(rows, encode_cursor("n", _position_of(rows[-1], sort)) if has_more else None, None)
    direction, position = decode_cursor(cursor)
    if direction == "n":
        rows = _walk(queryset, sort, position, page_size + 1, reverse=False)
        has_more = len(rows) > page_size
        rows = rows[:page_size]
        next_cursor = encode_cursor("n", _position_of(rows[-1], sort)) if has_more else None
        previous_cursor = encode_cursor("p", _position_of(rows[0], sort)) if rows else None
        return KeysetPage(rows, next_cursor, previous_cursor)
    rows = _walk(queryset, sort, position, page_size + 1, reverse=True)
    has_more = len(rows) > page_size
    rows = list(reversed(rows[:page_size]))
    previous_cursor = encode_cursor("p", _position_of(rows[0], sort)) if has_more else None
    next_cursor = encode_cursor("n", _position_of(rows[-1], sort)) if rows else None
    return KeysetPage(rows, next_cursor, previous_cursor)


@dataclass(frozen=True)
class BoundedCount:
    value: int
    exact: bool

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"{self.value:,}+"


def bounded_count(queryset: QuerySet, bound: int | None = None) -> BoundedCount:
    """COUNT over at most bound+1 rows: exact for small results, "1,000+" for big ones."""
    bound = bound or settings.LIST_COUNT_BOUND
    counted = queryset.order_by()[: bound + 1].count()
    return BoundedCount(min(counted, bound), exact=counted <= bound)


def sort_from_param(param: str | None, allowed: dict[str, SortKey], default: str) -> SortKey:
    if not param:
        return allowed[default]
    if param not in allowed:
        raise ValueError(f"Sort by one of: {', '.join(allowed)}.")
    return allowed[param]
