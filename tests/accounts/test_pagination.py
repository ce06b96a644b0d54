"""Keyset paging must return every row exactly once, in order, forwards and backwards, for every sort."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from accounts.models import Account
from accounts.selectors import ACCOUNT_SORTS, AccountFilters, account_list
from core.pagination import InvalidCursor, bounded_count, keyset_paginate
from tests.factories import AccountFactory


@pytest.fixture
def accounts(scope, org):
    rng = random.Random(3)
    for index in range(53):
        AccountFactory(
            organization=org,
            name=rng.choice(["Alpha", "Beta", "Gamma"]) + f" {rng.randint(1, 5)}",  # many ties
            arr=Decimal(rng.choice([0, 1000, 1000, 25000])),
            renewal_date=None if index % 4 == 0 else date(2027, 1, 1) + timedelta(days=rng.randint(0, 3)),
        )
    return list(account_list(filters=AccountFilters()))  # the list's queryset: it carries the health columns


def reference_order(rows, sort):
    """What ORDER BY would give: NULLs last in both directions, ties broken by id in the sort's direction."""
    with_value = [row for row in rows if getattr(row, sort.field) is not None]
    without = [row for row in rows if getattr(row, sort.field) is None]
    with_value.sort(key=lambda row: (getattr(row, sort.field), row.pk), reverse=sort.descending)
    without.sort(key=lambda row: row.pk, reverse=sort.descending)
    return [row.pk for row in with_value + without]


@pytest.mark.parametrize("sort_param", list(ACCOUNT_SORTS))
def test_walk_forward_and_back_sees_every_row_once_in_order(accounts, sort_param):
    sort = ACCOUNT_SORTS[sort_param]
    pages, cursor = [], None
    while True:
        page = keyset_paginate(account_list(filters=AccountFilters()), sort=sort, cursor=cursor, page_size=7)
        pages.append([row.pk for row in page.rows])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [pk for rows in pages for pk in rows] == reference_order(accounts, sort)

    backwards, cursor = [], page.previous_cursor
    while cursor:
        page = keyset_paginate(account_list(filters=AccountFilters()), sort=sort, cursor=cursor, page_size=7)
        backwards.insert(0, [row.pk for row in page.rows])
        cursor = page.previous_cursor
    assert backwards == pages[:-1]


def test_invalid_cursor_is_refused(scope):
    for cursor in ("garbage", "WyJ4Il0", "WyJuIiwgMywgbnVsbCwgMV0"):
        with pytest.raises(InvalidCursor):
            keyset_paginate(Account.objects.all(), sort=ACCOUNT_SORTS["name"], cursor=cursor, page_size=5)


@override_settings(LIST_COUNT_BOUND=10)
def test_bounded_count_says_plus_past_the_bound(scope, org):
    AccountFactory.create_batch(4, organization=org)
    assert str(bounded_count(Account.objects.all())) == "4"
    AccountFactory.create_batch(8, organization=org)
    count = bounded_count(Account.objects.all())
    assert (count.value, count.exact, str(count)) == (10, False, "10+")
