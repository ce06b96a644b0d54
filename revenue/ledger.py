"""The revenue arithmetic, with no Django in it: Stripe minor units to money, MRR of a subscription, the kind of a
movement, and net and gross revenue retention. Tested with hand-computed cases (tests/revenue/test_ledger.py).

Rules (issue 5): intervals are normalised to a month (MONTHS_PER_INTERVAL, times interval_count), quantities
multiply, a subscription-level coupon takes its percent or its amount off each invoice, and only active or past-due
subscriptions count: trialing, canceled, incomplete, unpaid and paused subscriptions carry no MRR.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

# Stripe's zero-decimal currencies: an amount of 500 JPY is ¥500, not ¥5.00 (docs.stripe.com/currencies).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)

# How many months one interval lasts: a month is a month whatever its days, 52 weeks or 365 days make 12 months.
MONTHS_PER_INTERVAL: dict[str, Decimal] = {
    "day": Decimal(12) / Decimal(365),
    "week": Decimal(12) / Decimal(52),
    "month": Decimal(1),
    "year": Decimal(12),
}

# Statuses whose items count towards MRR. past_due still bills (Stripe retries the card); unpaid and paused do not.
COUNTED_STATUSES = frozenset({"active", "past_due"})


def minor_to_major(amount: int, currency: str) -> Decimal:
    """Stripe's integer minor units as a Decimal amount of the currency (never a float)."""
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(int(amount))
    return Decimal(int(amount)) / 100


def major_to_minor(amount: Decimal, currency: str) -> int:
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    """One subscription item: its price per unit per interval, in minor units."""

    unit_amount: int
    quantity: int
    interval: str
    interval_count: int = 1


@dataclass(frozen=True)
class SubscriptionTerms:
    status: str
    currency: str
    lines: tuple[Line, ...]
    percent_off: Decimal | None = None
    amount_off: int | None = None  # minor units off each invoice
    amount_off_currency: str = ""


def subscription_mrr(terms: SubscriptionTerms) -> Decimal:
    """Monthly recurring revenue of one subscription, in major units of its currency, unrounded.

    Stripe bills all items of a subscription on one interval, and a coupon applies to the invoice, so the discount
    is taken off each interval's total before that total is turned into a month.
    """
    if terms.status not in COUNTED_STATUSES or not terms.lines:
        return Decimal(0)
    by_interval: dict[tuple[str, int], Decimal] = {}
    for line in terms.lines:
        if line.interval not in MONTHS_PER_INTERVAL or line.interval_count < 1:
            continue  # a one-off price is not recurring revenue
        key = (line.interval, line.interval_count)
        by_interval[key] = by_interval.get(key, Decimal(0)) + Decimal(line.unit_amount) * line.quantity
    total = Decimal(0)
    for (interval, interval_count), period_amount in by_interval.items():
        if terms.percent_off:
            period_amount = period_amount * (Decimal(100) - Decimal(terms.percent_off)) / 100
        if terms.amount_off and terms.amount_off_currency.lower() in ("", terms.currency.lower()):
            period_amount = max(Decimal(0), period_amount - terms.amount_off)
        months = MONTHS_PER_INTERVAL[interval] * interval_count
        total += _minor_decimal_to_major(period_amount, terms.currency) / months
    return total


def _minor_decimal_to_major(amount: Decimal, currency: str) -> Decimal:
    return amount if currency.lower() in ZERO_DECIMAL_CURRENCIES else amount / 100


def account_mrr(subscriptions: Iterable[SubscriptionTerms]) -> Decimal:
    """An account's MRR: the sum of its counted subscriptions, rounded to the cent once, at the end."""
    return money(sum((subscription_mrr(terms) for terms in subscriptions), Decimal(0)))


def movement_kind(*, before: Decimal, after: Decimal, had_revenue_before: bool) -> str | None:
    """new / reactivation / expansion / contraction / churn, or None when nothing moved.

    Reactivation is revenue coming back to an account that had revenue once and went to zero.
    """
    if before == after:
        return None
    if before == 0:
        return "reactivation" if had_revenue_before else "new"
    if after == 0:
        return "churn"
    return "expansion" if after > before else "contraction"


@dataclass(frozen=True)
class Retention:
    cohort: str
    accounts: int
    starting_mrr: Decimal
    ending_mrr: Decimal  # of the same accounts, expansion included
    retained_mrr: Decimal  # each account capped at where it started: no expansion
    expansion: Decimal
    contraction: Decimal
    churn: Decimal

    @property
    def nrr(self) -> Decimal | None:
        """Net revenue retention in percent: where the starting accounts ended, expansion included."""
        return None if not self.starting_mrr else money(100 * self.ending_mrr / self.starting_mrr)

    @property
    def grr(self) -> Decimal | None:
        """Gross revenue retention in percent: what was kept of the starting MRR, never above 100."""
        return None if not self.starting_mrr else money(100 * self.retained_mrr / self.starting_mrr)


def retention(
    *, start: Mapping[int, Decimal], end: Mapping[int, Decimal], cohorts: Mapping[int, str]
) -> dict[str, Retention]:
    """NRR and GRR per cohort over a period, from each account's MRR at its start and at its end.

    Only accounts paying at the start count (new customers in the period are not retention), each in the cohort it
    was in at the start. An account that churned and came back within the period counts with its ending MRR.
    """
    sums: dict[str, dict[str, Decimal]] = {}
    counts: dict[str, int] = {}
    for account_id, starting in start.items():
        if starting <= 0:
            continue
        ending = end.get(account_id, Decimal(0))
        cohort = cohorts.get(account_id, "")
        row = sums.setdefault(cohort, {key: Decimal(0) for key in ("s", "e", "r", "x", "c", "ch")})
        counts[cohort] = counts.get(cohort, 0) + 1
        row["s"] += starting
        row["e"] += ending
        row["r"] += min(starting, ending)
        if ending > starting:
            row["x"] += ending - starting
        elif ending == 0:
            row["ch"] += starting
        else:
            row["c"] += starting - ending
    return {
        cohort: Retention(
            cohort=cohort,
            accounts=counts[cohort],
            starting_mrr=row["s"],
            ending_mrr=row["e"],
            retained_mrr=row["r"],
            expansion=row["x"],
            contraction=row["c"],
            churn=row["ch"],
        )
        for cohort, row in sums.items()
    }


def retention_total(rows: Iterable[Retention]) -> Retention:
    rows = list(rows)
    return Retention(
        cohort="",
        accounts=sum(row.accounts for row in rows),
        starting_mrr=sum((row.starting_mrr for row in rows), Decimal(0)),
        ending_mrr=sum((row.ending_mrr for row in rows), Decimal(0)),
        retained_mrr=sum((row.retained_mrr for row in rows), Decimal(0)),
        expansion=sum((row.expansion for row in rows), Decimal(0)),
        contraction=sum((row.contraction for row in rows), Decimal(0)),
        churn=sum((row.churn for row in rows), Decimal(0)),
    )
