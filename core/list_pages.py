"""The list page every app uses: filter, sort, keyset page, bounded count; htmx gets only the rows."""

from django.conf import settings
from django.shortcuts import render

from core.pagination import InvalidCursor, bounded_count, keyset_paginate, sort_from_param


def paginated_list(request, filterset, *, sorts, default_sort):
    """Shared by the account and contact lists: filter, sort, keyset page, bounded count."""
    try:
        sort = sort_from_param(request.GET.get("ordering"), sorts, default_sort)
    except ValueError:
        sort = sorts[default_sort]
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    try:
        page = keyset_paginate(queryset, sort=sort, cursor=request.GET.get("cursor"), page_size=settings.LIST_PAGE_SIZE)
    except InvalidCursor:
        page = keyset_paginate(queryset, sort=sort, cursor=None, page_size=settings.LIST_PAGE_SIZE)
    return {"page": page, "sort": sort, "total": bounded_count(queryset), "filter": filterset}


def query_without(request, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def list_page(request, filterset, *, sorts, default_sort: str, template: str, rows_template: str, **extra):
    """A list page, or only its rows when htmx asks (filtering and paging swap the table in place)."""
    context = paginated_list(request, filterset, sorts=sorts, default_sort=default_sort)
    context["export_query"] = query_without(request, "cursor", "ordering")
    context["is_filtered"] = any(request.GET.get(name) for name in filterset.filters)
    context.update(extra)
    return render(request, rows_template if request.headers.get("HX-Request") else template, context)
