"""DRF face of core.pagination: `?cursor=` and `?ordering=`, answering {next, previous, results}."""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.pagination import InvalidCursor, keyset_paginate, sort_from_param


class KeysetPagination(BasePagination):
    cursor_query_param = "cursor"
    ordering_query_param = "ordering"
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        try:
            sort = sort_from_param(request.query_params.get(self.ordering_query_param), view.sorts, view.default_sort)
        except ValueError as exc:
            raise exceptions.ValidationError({self.ordering_query_param: [str(exc)]}) from exc
        page_size = self._page_size(request)
        try:
            page = keyset_paginate(
                queryset, sort=sort, cursor=request.query_params.get(self.cursor_query_param), page_size=page_size
            )
        except InvalidCursor as exc:
            raise exceptions.ValidationError({self.cursor_query_param: [str(exc)]}) from exc
        self.page = page
        return page.rows

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return settings.LIST_PAGE_SIZE
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Opaque position from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.ordering_query_param,
                "in": "query",
                "required": False,
                "description": f"Sort order; default `{view.default_sort}`.",
                "schema": {"type": "string", "enum": list(view.sorts)},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Rows per page, 1 to {self.max_page_size} (default {settings.LIST_PAGE_SIZE}).",
                "schema": {"type": "integer"},
            },
        ]
