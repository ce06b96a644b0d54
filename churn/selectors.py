"""Reads of the churn app: the case lists, one case with its steps, and the churn analytics."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import TruncMonth

from accounts.models import Account, AccountStatus, Cohort
from churn.models import ChurnCase, ChurnCaseStatus, ChurnStep

# What counts as churn in the analytics: a case someone opened (or Stripe suggested and nobody dismissed yet is
# not counted: it may be a plan change). Dismissed cases are not churn.
COUNTED_STATUSES = (ChurnCaseStatus.OPEN, ChurnCaseStatus.CLOSED)


def churn_case_list(*, status: str = "") -> QuerySet:
    cases = ChurnCase.objects.select_related("account").prefetch_related(
        Prefetch("steps", queryset=ChurnStep.objects.order_by("position"))
    )
    if status == "live":
        cases = cases.filter(status__in=(ChurnCaseStatus.OPEN, ChurnCaseStatus.SUGGESTED))
    elif status:
        cases = cases.filter(status=status)
    return cases.order_by("-created_at", "-id")


def churn_status_counts() -> dict[str, int]:
    counts = dict(ChurnCase.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    counts["all"] = sum(counts.values())
    counts["live"] = counts.get(ChurnCaseStatus.OPEN, 0) + counts.get(ChurnCaseStatus.SUGGESTED, 0)
    return counts


def churn_case_get(*, pk: int) -> ChurnCase | None:
    return (
        ChurnCase.objects.select_related("account", "account__csm_owner", "account__ae_owner", "opened_by")
        .prefetch_related(Prefetch("steps", queryset=ChurnStep.objects.select_related("done_by").order_by("position")))
        .filter(pk=pk)
        .first()
    )


def live_case_for_account(*, account: Account) -> ChurnCase | None:
    return ChurnCase.objects.filter(
        account=account, status__in=(ChurnCaseStatus.OPEN, ChurnCaseStatus.SUGGESTED)
    ).first()


# --- Analytics -------------------------------------------------------------------------------------------------


@dataclass
class MonthRow:
    month: date
    arr_lost: Decimal = Decimal("0.00")
    logos: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class CohortRow:
    cohort: str
    label: str
    arr_at_start: Decimal
    arr_lost: Decimal
    logos: int

    @property
    def grr(self) -> Decimal | None:
        """Gross revenue retention, in percent: the ARR at the start that is not lost to churn."""
        if not self.arr_at_start:
            return None
        return ((self.arr_at_start - self.arr_lost) / self.arr_at_start * 100).quantize(Decimal("0.1"))


@dataclass
class ReasonRow:
    code: str
    label: str
    logos: int
    arr_lost: Decimal


@dataclass
class ChurnAnalytics:
    start: date
    end: date
    months: list[MonthRow]
    reasons: list[ReasonRow]
    cohorts: list[CohortRow]
    total: CohortRow
    accounts_at_start: int

    @property
    def arr_lost(self) -> Decimal:
        return sum((row.arr_lost for row in self.months), Decimal("0.00"))

    @property
    def logos(self) -> int:
        return sum(row.logos for row in self.months)

    @property
    def logo_churn_percent(self) -> Decimal | None:
        if not self.accounts_at_start:
            return None
        return (Decimal(self.logos) / self.accounts_at_start * 100).quantize(Decimal("0.1"))

    @property
    def arr_churn_percent(self) -> Decimal | None:
        if not self.total.arr_at_start:
            return None
        return (self.total.arr_lost / self.total.arr_at_start * 100).quantize(Decimal("0.1"))


def _months(start: date, end: date) -> list[date]:
    months, cursor = [], start.replace(day=1)
    while cursor <= end:
        months.append(cursor)
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return months


def churn_analytics(*, start: date, end: date, reason_labels: dict[str, str]) -> ChurnAnalytics:
    """ARR and logo churn per month, by primary reason and by cohort, and gross revenue retention, for the cases
    whose churn date falls in [start, end].

    The ARR at the start of the period is rebuilt from what we hold: the ARR of accounts that existed before the
    start and are still active, plus the ARR lost by every case churning on or after the start (those accounts were
    customers then). GRR here counts churn only; contraction of customers who stay is in the revenue report.
    """
    counted = ChurnCase.objects.filter(status__in=COUNTED_STATUSES)
    in_period = counted.filter(churn_date__gte=start, churn_date__lte=end)
    months = {month: MonthRow(month=month) for month in _months(start, end)}
    for row in (
        in_period.annotate(month=TruncMonth("churn_date"))
        .values("month", "primary_reason")
        .annotate(arr=Sum("arr_lost"), logos=Count("id"))
    ):
        month = row["month"] if isinstance(row["month"], date) else row["month"].date()
        target = months[month.replace(day=1)]
        target.arr_lost += row["arr"] or Decimal("0")
        target.logos += row["logos"]
        target.by_reason[row["primary_reason"]] = target.by_reason.get(row["primary_reason"], 0) + row["logos"]
    reasons = [
        ReasonRow(
            code=row["primary_reason"],
            label=reason_labels.get(row["primary_reason"], row["primary_reason"] or "—"),
            logos=row["logos"],
            arr_lost=row["arr"] or Decimal("0.00"),
        )
        for row in in_period.values("primary_reason")
        .annotate(arr=Sum("arr_lost"), logos=Count("id"))
        .order_by("-arr", "primary_reason")
    ]
    lost_by_cohort: dict[str, tuple[Decimal, int]] = defaultdict(lambda: (Decimal("0"), 0))
    for row in in_period.values("cohort").annotate(arr=Sum("arr_lost"), logos=Count("id")):
        lost_by_cohort[row["cohort"]] = (row["arr"] or Decimal("0"), row["logos"])
    start_arr: dict[str, Decimal] = defaultdict(Decimal)
    start_logos = 0
    existing = Account.objects.filter(status=AccountStatus.ACTIVE, created_at__date__lt=start)
    for row in existing.values("cohort").annotate(arr=Sum("arr"), n=Count("id")):
        start_arr[row["cohort"]] += row["arr"] or Decimal("0")
        start_logos += row["n"]
    for row in counted.filter(churn_date__gte=start).values("cohort").annotate(arr=Sum("arr_lost"), n=Count("id")):
        start_arr[row["cohort"]] += row["arr"] or Decimal("0")
        start_logos += row["n"]
    cohorts = [
        CohortRow(
            cohort=cohort,
            label=Cohort(cohort).label,
            arr_at_start=start_arr.get(cohort, Decimal("0")),
            arr_lost=lost_by_cohort[cohort][0],
            logos=lost_by_cohort[cohort][1],
        )
        for cohort in Cohort.values
    ]
    total = CohortRow(
        cohort="",
        label="All cohorts",
        arr_at_start=sum((row.arr_at_start for row in cohorts), Decimal("0")),
        arr_lost=sum((row.arr_lost for row in cohorts), Decimal("0")),
        logos=sum(row.logos for row in cohorts),
    )
    return ChurnAnalytics(
        start=start,
        end=end,
        months=list(months.values()),
        reasons=reasons,
        cohorts=cohorts,
        total=total,
        accounts_at_start=start_logos,
    )
