"""The revenue arithmetic (revenue/ledger.py), with hand-computed expectations."""

from decimal import Decimal

import pytest

from revenue.ledger import (
    Line,
    SubscriptionTerms,
    account_mrr,
    major_to_minor,
    minor_to_major,
    movement_kind,
    retention,
    retention_total,
)


def terms(*lines, status="active", currency="usd", **discount) -> SubscriptionTerms:
    return SubscriptionTerms(status=status, currency=currency, lines=tuple(lines), **discount)


def mrr(*subscriptions) -> Decimal:
    return account_mrr(subscriptions)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (Line(1000, 3, "month"), "30.00"),  # $10 x 3 seats
        (Line(120000, 1, "year"), "100.00"),  # $1,200 a year
        (Line(1000, 1, "week"), "43.33"),  # $10 x 52 / 12
        (Line(100, 1, "day"), "30.42"),  # $1 x 365 / 12
        (Line(30000, 1, "month", 3), "100.00"),  # $300 a quarter
        (Line(120000, 2, "year", 2), "100.00"),  # 2 x $1,200 every two years
    ],
)
def test_intervals_and_quantities_normalise_to_a_month(line, expected):
    assert mrr(terms(line)) == Decimal(expected)


def test_weekly_plan_is_fifty_two_weeks_over_twelve_months():
    # $12 a week: 12 x 52 / 12 = $52 a month exactly.
    assert mrr(terms(Line(1200, 1, "week"))) == Decimal("52.00")


def test_percent_off_coupon_applies_to_the_invoice_total():
    assert mrr(terms(Line(5000, 2, "month"), percent_off=Decimal("20"))) == Decimal("80.00")


def test_amount_off_coupon_comes_off_each_invoice_then_is_spread_over_the_interval():
    # $1,200 a year minus $50 off each (yearly) invoice = $1,150 / 12.
    assert mrr(terms(Line(120000, 1, "year"), amount_off=5000, amount_off_currency="usd")) == Decimal("95.83")
    # Monthly: $100 - $5.
    assert mrr(terms(Line(10000, 1, "month"), amount_off=500, amount_off_currency="usd")) == Decimal("95.00")


def test_amount_off_never_makes_revenue_negative_and_ignores_another_currency():
    assert mrr(terms(Line(1000, 1, "month"), amount_off=5000, amount_off_currency="usd")) == Decimal("0.00")
    assert mrr(terms(Line(1000, 1, "month"), amount_off=500, amount_off_currency="eur")) == Decimal("10.00")


@pytest.mark.parametrize(
    ("status", "expected"),
    [("active", "10.00"), ("past_due", "10.00"), ("trialing", "0.00"), ("canceled", "0.00"), ("incomplete", "0.00"),
     ("unpaid", "0.00"), ("paused", "0.00")],
)  # fmt: skip
def test_only_active_and_past_due_subscriptions_count(status, expected):
    assert mrr(terms(Line(1000, 1, "month"), status=status)) == Decimal(expected)


def test_zero_decimal_currency_amounts_are_whole_units():
    assert minor_to_major(5000, "jpy") == Decimal(5000)
    assert minor_to_major(5000, "usd") == Decimal("50")
    assert major_to_minor(Decimal("5000"), "JPY") == 5000
    assert major_to_minor(Decimal("50.005"), "usd") == 5001
    assert mrr(terms(Line(5000, 1, "month"), currency="jpy")) == Decimal("5000.00")
    assert mrr(terms(Line(12000, 1, "year"), currency="jpy")) == Decimal("1000.00")


def test_an_account_sums_its_subscriptions_and_rounds_once():
    # Three weekly $1 plans: 3 x 4.3333… = 13.00 (rounding each first would give 12.99).
    weekly = terms(Line(100, 1, "week"))
    assert mrr(weekly, weekly, weekly) == Decimal("13.00")
    assert mrr(
        terms(Line(1000, 1, "month")), terms(Line(120000, 1, "year")), terms(Line(999, 1, "month"), status="trialing")
    ) == Decimal("110.00")


def test_one_off_prices_are_not_recurring_revenue():
    assert mrr(terms(Line(5000, 1, ""))) == Decimal("0.00")


@pytest.mark.parametrize(
    ("before", "after", "had", "kind"),
    [
        ("0", "100", False, "new"),
        ("100", "150", True, "expansion"),
        ("150", "120", True, "contraction"),
        ("120", "0", True, "churn"),
        ("0", "80", True, "reactivation"),
        ("80", "80", True, None),
        ("0", "0", True, None),
    ],
)
def test_movement_kinds(before, after, had, kind):
    assert movement_kind(before=Decimal(before), after=Decimal(after), had_revenue_before=had) == kind


def test_nrr_and_grr_per_cohort_by_hand():
    start = {1: Decimal(100), 2: Decimal(200), 3: Decimal(300), 4: Decimal(0)}
    end = {1: Decimal(150), 2: Decimal(0), 3: Decimal(240), 4: Decimal(500), 5: Decimal(70)}
    cohorts = {1: "starter", 2: "starter", 3: "premium", 4: "premium"}
    rows = retention(start=start, end=end, cohorts=cohorts)
    starter, premium = rows["starter"], rows["premium"]
    # Starter: 300 at the start; 150 at the end (A grew by 50, B churned 200): NRR 50%; GRR (100 + 0) / 300.
    assert (starter.accounts, starter.starting_mrr, starter.ending_mrr) == (2, 300, 150)
    assert (starter.nrr, starter.grr) == (Decimal("50.00"), Decimal("33.33"))
    assert (starter.expansion, starter.churn, starter.contraction) == (50, 200, 0)
    # Premium: only C was paying at the start (D and E are new business, not retention): 240 / 300.
    assert (premium.accounts, premium.nrr, premium.grr, premium.contraction) == (
        1,
        Decimal("80.00"),
        Decimal("80.00"),
        60,
    )
    total = retention_total(rows.values())
    assert (total.nrr, total.grr) == (Decimal("65.00"), Decimal("56.67"))  # 390 / 600 and 340 / 600


def test_retention_with_nobody_paying_at_the_start_is_undefined_not_zero():
    assert retention(start={1: Decimal(0)}, end={1: Decimal(10)}, cohorts={1: "trial"}) == {}
    assert retention_total([]).nrr is None
