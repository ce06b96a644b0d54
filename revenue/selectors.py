"""Reads of the revenue app: the review queue, an account's Stripe records, MRR over time and retention."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import QuerySet

from accounts.models import Account, Cohort
from revenue.ledger import Retention, retention, retention_total
from revenue.models import (
    PlanCohort,
    RevenueMovement,
    StripeAction,
    StripeCustomer,
    StripeInvoice,
    StripeSubscription,
)

REVIEW_QUEUE_LIMIT = 200


def review_queue(*, limit: int = REVIEW_QUEUE_LIMIT) -> QuerySet:
    """Customers nothing linked to an account (deleted ones aside), newest first."""
    return StripeCustomer.objects.filter(account=None, deleted=False).order_by("-stripe_created", "-id")[:limit]


def review_queue_count() -> int:
    return StripeCustomer.objects.filter(account=None, deleted=False).count()


def plan_cohorts() -> QuerySet:
    return PlanCohort.objects.all()


@dataclass(frozen=True)
class AccountStripe:
    customers: list[StripeCustomer]
    subscriptions: list[StripeSubscription]
    invoices: list[StripeInvoice]
    movements: list[RevenueMovement]
    actions: list[StripeAction]
    last_synced_at: datetime | None


def account_stripe(*, account: Account, invoice_limit: int = 20) -> AccountStripe:
    customers = list(StripeCustomer.objects.filter(account=account).order_by("stripe_id"))
    subscriptions = list(
        StripeSubscription.objects.filter(account=account).prefetch_related("items").order_by("-start_date", "-id")
    )
    invoices = list(StripeInvoice.objects.filter(account=account).order_by("-stripe_created", "-id")[:invoice_limit])
    synced = [row.last_synced_at for row in (*customers, *subscriptions, *invoices)]
    return AccountStripe(
        customers=customers,
        subscriptions=subscriptions,
        invoices=invoices,
        movements=list(RevenueMovement.objects.filter(account=account).order_by("-occurred_at", "-id")[:20]),
        actions=list(StripeAction.objects.filter(account=account)[:10]),
        last_synced_at=max(synced) if synced else None,
    )


def _mrr_as_of(moments: list[datetime]) -> list[dict[int, tuple[Decimal, str, str]]]:
    """Each account's (MRR, currency, cohort) at each moment (exclusive), from one ordered pass over the ledger."""
    snapshots: list[dict[int, tuple[Decimal, str, str]]] = []
    state: dict[int, tuple[Decimal, str, str]] = {}
    rows = RevenueMovement.objects.filter(occurred_at__lt=max(moments)).order_by("occurred_at", "id")
    moments_left = sorted(moments)
    index = 0
    for account_id, occurred_at, mrr, currency, cohort in rows.values_list(
        "account_id", "occurred_at", "mrr_after", "currency", "cohort"
    ).iterator(chunk_size=2000):
        while index < len(moments_left) and occurred_at >= moments_left[index]:
            snapshots.append(dict(state))
            index += 1
        state[account_id] = (mrr, currency, cohort)
    while index < len(moments_left):
        snapshots.append(dict(state))
        index += 1
    order = {moment: i for i, moment in enumerate(moments_left)}
    return [snapshots[order[moment]] for moment in moments]


@dataclass(frozen=True)
class MrrSeries:
    labels: list[str]
    currency: str
    by_cohort: dict[str, list[Decimal]]
    total: list[Decimal]


def mrr_over_time(*, month_starts: list[datetime], currency: str) -> MrrSeries:
    """MRR in one currency at the start of each given month, per cohort (the cohort each account was in then).

    The ledger does not convert currencies: other currencies are left out of the series (and named on the page).
    """
    snapshots = _mrr_as_of(month_starts)
    by_cohort: dict[str, list[Decimal]] = {cohort.label: [] for cohort in Cohort}
    labels = {cohort.value: cohort.label for cohort in Cohort}
    total = []
    for snapshot in snapshots:
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for mrr, row_currency, cohort in snapshot.values():
            if row_currency == currency:
                sums[labels.get(cohort, cohort)] += mrr
        for label in by_cohort:
            by_cohort[label].append(sums.get(label, Decimal(0)))
        total.append(sum(sums.values(), Decimal(0)))
    return MrrSeries(
        labels=[moment.strftime("%b %Y") for moment in month_starts],
        currency=currency,
        by_cohort=by_cohort,
        total=total,
    )


@dataclass(frozen=True)
class RetentionReport:
    currency: str
    rows: list[Retention]
    total: Retention


def retention_by_cohort(*, start: datetime, end: datetime, currency: str) -> RetentionReport:
    """NRR and GRR per cohort between two moments: accounts paying at `start`, in the cohort they were in then."""
    at_start, at_end = _mrr_as_of([start, end])
    start_mrr = {pk: mrr for pk, (mrr, cur, _) in at_start.items() if cur == currency}
    end_mrr = {pk: mrr for pk, (mrr, cur, _) in at_end.items() if cur == currency}
    cohorts = {pk: cohort for pk, (_, _, cohort) in at_start.items()}
    by_cohort = retention(start=start_mrr, end=end_mrr, cohorts=cohorts)
    rows = [by_cohort[cohort] for cohort in Cohort.values if cohort in by_cohort]
    return RetentionReport(currency=currency, rows=rows, total=retention_total(rows))


def ledger_currencies() -> list[str]:
    return list(RevenueMovement.objects.order_by().values_list("currency", flat=True).distinct())


def movements_in(*, start: datetime, end: datetime) -> QuerySet:
    return RevenueMovement.objects.filter(occurred_at__gte=start, occurred_at__lt=end).select_related("account")


def month_starts_between(first: date, last: date) -> list[date]:
    months = []
    cursor = first.replace(day=1)
    while cursor <= last:
        months.append(cursor)
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    return months


def account_movements(*, account: Account, start: datetime, end: datetime) -> list[RevenueMovement]:
    """An account's ledger movements in [start, end), oldest first."""
    return list(RevenueMovement.objects.filter(account=account, occurred_at__gte=start, occurred_at__lt=end))


def account_mrr_at(*, account: Account, moment: datetime) -> RevenueMovement | None:
    """The account's last movement before the moment: its mrr_after is the MRR then (None: no ledger yet)."""
    earlier = RevenueMovement.objects.filter(account=account, occurred_at__lt=moment)
    return earlier.order_by("-occurred_at", "-id").first()


def billing_health_inputs(
    *, now: datetime, since: datetime, account_ids: list[int] | None = None
) -> dict[str, dict[int, float]]:
    """What health scores read from Stripe, for every account at once (three queries): unpaid invoices past due
    since `since` per account Stripe invoices, and each ledger account's MRR change in percent since `since`."""
    from django.db.models import Count, Q

    invoices = StripeInvoice.objects.filter(account__isnull=False)
    movements = RevenueMovement.objects.all()
    if account_ids is not None:
        invoices, movements = invoices.filter(account_id__in=account_ids), movements.filter(account_id__in=account_ids)
    past_due = Q(status__in=("open", "uncollectible"), due_date__lt=now, due_date__gte=since)
    failed = {
        row["account_id"]: row["past_due"]
        for row in invoices.values("account_id").annotate(past_due=Count("id", filter=past_due)).order_by()
    }
    # The MRR at `since` is the first movement's before-value in the window; an account on the ledger that did not
    # move in it kept its MRR (0% change).
    trend = dict.fromkeys(movements.values_list("account_id", flat=True).distinct().order_by(), 0.0)
    window: dict[int, list[Decimal]] = {}
    for account_id, before, after in (
        movements.filter(occurred_at__gte=since, occurred_at__lte=now)
        .order_by("occurred_at", "id")
        .values_list("account_id", "mrr_before", "mrr_after")
    ):
        window.setdefault(account_id, [before, after])[1] = after
    for account_id, (start, end) in window.items():
        trend[account_id] = float((end - start) * 100 / start) if start else (100.0 if end else 0.0)
    return {"failed_payments": failed, "mrr_trend": trend}
