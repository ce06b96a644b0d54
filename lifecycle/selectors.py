"""Reads of the lifecycle app: the board, the deal list, the forecast, the funnel, the cohort report, "My work".

Each is a fixed number of set-based queries, whatever the number of deals, contacts or owners.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import timezone

from accounts.models import COHORT_ORDER, Cohort, CohortChange, Contact, LifecycleStage
from core.models import Notification
from core.pagination import SortKey
from lifecycle.models import (
    OPEN_DEAL_STAGES,
    Deal,
    DealStage,
    LifecycleStageChange,
    OnboardingPlan,
    PipelineSettings,
    Task,
)
from lifecycle.rules import NEXT_STAGES
from lifecycle.services import LEAD_STATUS_STAGES, UNRESPONSIVE_AFTER, UNRESPONSIVE_NOT_SUGGESTED

DEAL_SORTS = {
    key.param: key
    for field_name, nullable in (("name", False), ("amount", False), ("expected_close_date", True))
    for key in (SortKey(field_name, False, nullable), SortKey(field_name, True, nullable))
}
QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])$")
BOARD_CARDS_PER_COLUMN = 30


def quarter_bounds(quarter: str) -> tuple[date, date] | None:
    """ "2027-Q1" -> (2027-01-01, 2027-03-31); None for anything else."""
    match = QUARTER_PATTERN.match(quarter or "")
    if not match:
        return None
    year, number = int(match.group(1)), int(match.group(2))
    start = date(year, 3 * number - 2, 1)
    end = date(year + (number == 4), 1 if number == 4 else 3 * number + 1, 1) - timedelta(days=1)
    return start, end


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_choices(*, today: date, back: int = 4, ahead: int = 5) -> list[str]:
    """A few quarters around today, for the close-quarter filter."""
    first = (today.year * 4 + (today.month - 1) // 3) - back
    return [f"{index // 4}-Q{index % 4 + 1}" for index in range(first, first + back + ahead + 1)]


def with_weights(deals: QuerySet, pipeline_settings: PipelineSettings) -> QuerySet:
    """Annotates each deal's probability (from the organization's settings) and weighted amount, in SQL."""
    probability = Case(
        *(When(stage=stage, then=Value(pipeline_settings.probability(stage))) for stage in DealStage.values),
        default=Value(0),
        output_field=IntegerField(),
    )
    return deals.annotate(
        probability=probability,
        weighted_amount=ExpressionWrapper(
            F("amount") * probability / Value(Decimal(100)),
            output_field=DecimalField(max_digits=16, decimal_places=2),
        ),
    )


@dataclass(frozen=True)
class DealFilters:
    search: str = ""
    owner: int | None = None
    type: str = ""
    stage: str = ""
    close_quarter: str = ""
    account: int | None = None
    committed: bool | None = None


def deals_weighted(*, pipeline_settings: PipelineSettings) -> QuerySet:
    return with_weights(Deal.objects.select_related("account", "owner"), pipeline_settings)


def deal_filter(deals: QuerySet, *, filters: DealFilters) -> QuerySet:
    if filters.search:
        deals = deals.filter(Q(name__icontains=filters.search) | Q(account__name__icontains=filters.search))
    if filters.owner:
        deals = deals.filter(owner_id=filters.owner)
    if filters.type:
        deals = deals.filter(type=filters.type)
    if filters.stage:
        deals = deals.filter(stage=filters.stage)
    if filters.account:
        deals = deals.filter(account_id=filters.account)
    if filters.committed is not None:
        deals = deals.filter(committed=filters.committed)
    bounds = quarter_bounds(filters.close_quarter)
    if bounds:
        deals = deals.filter(expected_close_date__range=bounds)
    return deals


def deal_list(*, filters: DealFilters, pipeline_settings: PipelineSettings) -> QuerySet:
    return deal_filter(deals_weighted(pipeline_settings=pipeline_settings), filters=filters)


@dataclass
class BoardColumn:
    stage: str
    label: str
    probability: int
    count: int = 0
    amount: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    deals: list = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(self.count - len(self.deals), 0)


def pipeline_board(*, deals: QuerySet, pipeline_settings: PipelineSettings) -> list[BoardColumn]:
    """One column per stage with its count, total and weighted total (one grouped query) and its first cards."""
    totals = {
        row["stage"]: row
        for row in deals.order_by()
        .values("stage")
        .annotate(count=Count("id"), amount_sum=Sum("amount"), weighted_sum=Sum("weighted_amount"))
    }
    # Each column's first cards in one query: number the rows per stage, keep the first few of each.
    position = Window(
        RowNumber(),
        partition_by=[F("stage")],
        order_by=[F("closed_at").desc(nulls_first=True), F("expected_close_date").asc(nulls_last=True), F("id")],
    )
    cards: dict[str, list[Deal]] = {stage: [] for stage in DealStage.values}
    ranked = deals.annotate(position=position).filter(position__lte=BOARD_CARDS_PER_COLUMN)
    for deal in ranked.order_by("stage", "position"):
        cards[deal.stage].append(deal)
    columns = []
    for stage, label in DealStage.choices:
        row = totals.get(stage, {})
        columns.append(
            BoardColumn(
                stage=stage,
                label=label,
                probability=pipeline_settings.probability(stage),
                count=row.get("count", 0),
                amount=row.get("amount_sum") or Decimal("0"),
                weighted=row.get("weighted_sum") or Decimal("0"),
                deals=cards[stage],
            )
        )
    return columns


@dataclass(frozen=True)
class Forecast:
    months: list[str]
    owners: list[str]
    weighted: dict[str, list[float]]  # owner -> weighted amount per month
    total_by_month: list[Decimal]
    other_currency_deals: int
    undated_deals: int


def pipeline_forecast(*, deals: QuerySet, currency: str) -> Forecast:
    """Weighted open pipeline per close month and owner, in the organization's currency (one grouped query)."""
    open_deals = deals.filter(stage__in=OPEN_DEAL_STAGES)
    rows = list(
        open_deals.filter(currency=currency, expected_close_date__isnull=False)
        .annotate(month=TruncMonth("expected_close_date"))
        .order_by()
        .values("month", "owner_id", "owner__first_name", "owner__last_name", "owner__email")
        .annotate(weighted_sum=Sum("weighted_amount"))
    )
    leftovers = open_deals.order_by().aggregate(
        other_currency=Count("id", filter=~Q(currency=currency)),
        undated=Count("id", filter=Q(expected_close_date__isnull=True, currency=currency)),
    )

    labels = _owner_labels(rows)
    months = sorted({row["month"] for row in rows})
    month_keys = [month.strftime("%Y-%m") if isinstance(month, date) else str(month)[:7] for month in months]
    owners = sorted(set(labels.values()), key=str.lower)
    weighted = {owner: [0.0] * len(months) for owner in owners}
    totals = [Decimal("0")] * len(months)
    for row in rows:
        index = months.index(row["month"])
        weighted[labels[row["owner_id"]]][index] += float(row["weighted_sum"] or 0)
        totals[index] += row["weighted_sum"] or Decimal("0")
    return Forecast(
        months=month_keys,
        owners=owners,
        weighted=weighted,
        total_by_month=totals,
        other_currency_deals=leftovers["other_currency"],
        undated_deals=leftovers["undated"],
    )


def _owner_labels(rows) -> dict[int | None, str]:
    """Owner id -> the name shown; grouped by id, so two people with one name stay apart (their email tells)."""
    names: dict[int | None, str] = {}
    emails: dict[int | None, str] = {}
    for row in rows:
        name = f"{row['owner__first_name'] or ''} {row['owner__last_name'] or ''}".strip()
        names[row["owner_id"]] = (name or row["owner__email"]) if row["owner_id"] else "Unassigned"
        emails[row["owner_id"]] = row["owner__email"] or ""
    counts = Counter(names.values())
    return {
        owner_id: f"{label} ({emails[owner_id]})" if counts[label] > 1 and emails[owner_id] else label
        for owner_id, label in names.items()
    }


# --- Lifecycle funnel ------------------------------------------------------------------------------------------

FUNNEL_STAGES = (
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MARKETING_QUALIFIED_LEAD,
    LifecycleStage.PRODUCT_QUALIFIED_LEAD,
    LifecycleStage.SALES_QUALIFIED_LEAD,
    LifecycleStage.OPPORTUNITY,
    LifecycleStage.CUSTOMER,
)


@dataclass
class FunnelStep:
    stage: str
    label: str
    entered: int = 0
    advanced: int = 0

    @property
    def conversion(self) -> float | None:
        return round(100 * self.advanced / self.entered, 1) if self.entered else None


@dataclass
class FunnelRow:
    owner_id: int | None
    owner: str
    steps: list[FunnelStep]


def lifecycle_funnel(*, start: datetime, end: datetime, owner_id: int | None = None) -> list[FunnelRow]:
    """Per owner: how many contacts entered each stage in the period, and how many of those moved on since.

    "Moved on" means a later entry into one of the stage's next stages (seed 002's order), so a contact that
    entered Lead in the period and MQL next month counts as converted. One grouped query, one more for "Everyone".
    """
    entries = LifecycleStageChange.objects.filter(
        changed_at__gte=start, changed_at__lt=end, to_stage__in=FUNNEL_STAGES, is_correction=False
    )
    if owner_id:
        entries = entries.filter(owner_id=owner_id)
    later = LifecycleStageChange.objects.filter(
        contact_id=OuterRef("contact_id"), changed_at__gte=OuterRef("changed_at")
    )
    advanced = Case(
        *(
            When(to_stage=stage, then=Exists(later.filter(to_stage__in=NEXT_STAGES[stage])))
            for stage in FUNNEL_STAGES
            if NEXT_STAGES[stage]
        ),
        default=Value(False),
    )
    rows = (
        entries.annotate(advanced=advanced)
        .order_by()
        .values("owner_id", "owner__first_name", "owner__last_name", "owner__email", "to_stage")
        .annotate(
            entered=Count("contact_id", distinct=True),
            advanced_count=Count("contact_id", distinct=True, filter=Q(advanced=True)),
        )
    )
    by_owner: dict[int | None, FunnelRow] = {}
    for row in rows:
        name = f"{row['owner__first_name'] or ''} {row['owner__last_name'] or ''}".strip()
        funnel_row = by_owner.setdefault(
            row["owner_id"],
            FunnelRow(
                owner_id=row["owner_id"],
                owner=name or row["owner__email"] or "No owner",
                steps=[FunnelStep(stage, LifecycleStage(stage).label) for stage in FUNNEL_STAGES],
            ),
        )
        step = funnel_row.steps[FUNNEL_STAGES.index(row["to_stage"])]
        step.entered, step.advanced = row["entered"], row["advanced_count"]
    result = sorted(by_owner.values(), key=lambda funnel_row: funnel_row.owner.lower())
    if len(result) > 1:
        # Counted again without the owner: a contact that entered a stage under two owners is one contact.
        total = FunnelRow(None, "Everyone", [FunnelStep(stage, LifecycleStage(stage).label) for stage in FUNNEL_STAGES])
        for row in (
            entries.annotate(advanced=advanced)
            .order_by()
            .values("to_stage")
            .annotate(
                entered=Count("contact_id", distinct=True),
                advanced_count=Count("contact_id", distinct=True, filter=Q(advanced=True)),
            )
        ):
            step = total.steps[FUNNEL_STAGES.index(row["to_stage"])]
            step.entered, step.advanced = row["entered"], row["advanced_count"]
        result.insert(0, total)
    return result


def contact_stage_history(*, contact: Contact, limit: int = 50) -> QuerySet:
    return LifecycleStageChange.objects.filter(contact=contact).select_related("changed_by")[:limit]


def account_stage_history(*, account_id: int, limit: int = 12) -> QuerySet:
    return LifecycleStageChange.objects.filter(account_id=account_id).select_related("contact")[:limit]


# --- Cohorts ---------------------------------------------------------------------------------------------------


@dataclass
class CohortStep:
    from_cohort: str
    to_cohort: str
    label: str
    moves: int = 0
    average_days: float | None = None


def cohort_moves_report(*, start: datetime, end: datetime) -> dict:
    """How many accounts moved down the cohort table (Trial towards Enterprise) in the period, and how long
    each step took: the days between entering the cohort and leaving it. Downgrades are counted apart."""
    previous = CohortChange.objects.filter(account_id=OuterRef("account_id"), changed_at__lt=OuterRef("changed_at"))
    moves = (
        CohortChange.objects.filter(changed_at__gte=start, changed_at__lt=end)
        .exclude(from_cohort="")
        .annotate(entered_at=Subquery(previous.order_by("-changed_at", "-id").values("changed_at")[:1]))
    )
    rows = list(moves.values("from_cohort", "to_cohort", "changed_at", "entered_at"))
    steps = {
        (a, b): CohortStep(a, b, f"{Cohort(a).label} → {Cohort(b).label}")
        for a, b in zip(Cohort.values, Cohort.values[1:], strict=False)
    }
    durations: dict[tuple[str, str], list[float]] = {key: [] for key in steps}
    upgrades = downgrades = skipped = 0
    for row in rows:
        up = COHORT_ORDER[row["to_cohort"]] > COHORT_ORDER[row["from_cohort"]]
        if not up:
            downgrades += 1
            continue
        upgrades += 1
        key = (row["from_cohort"], row["to_cohort"])
        if key not in steps:
            skipped += 1  # e.g. Trial straight to Premium: counted as an upgrade, not as a table step
            continue
        steps[key].moves += 1
        if row["entered_at"]:
            durations[key].append((row["changed_at"] - row["entered_at"]).total_seconds() / 86400)
    for key, step in steps.items():
        if durations[key]:
            step.average_days = round(sum(durations[key]) / len(durations[key]), 1)
    return {"steps": list(steps.values()), "upgrades": upgrades, "downgrades": downgrades, "skipped": skipped}


def account_cohort_path(*, account_id: int) -> list[CohortChange]:
    return list(
        CohortChange.objects.filter(account_id=account_id).select_related("changed_by").order_by("changed_at", "id")
    )


# --- My work ---------------------------------------------------------------------------------------------------


def tasks_for(*, user, today: date) -> dict[str, list[Task]]:
    """A member's open tasks across accounts, overdue first, then by due date (undated last)."""
    tasks = list(
        Task.objects.filter(assignee=user, status=Task.Status.OPEN)
        .select_related("account", "onboarding_plan")
        .order_by(F("due_date").asc(nulls_last=True), "position", "id")[:200]
    )
    week_end = today + timedelta(days=7)
    groups: dict[str, list[Task]] = {"overdue": [], "this_week": [], "later": [], "undated": []}
    for task in tasks:
        if task.due_date is None:
            groups["undated"].append(task)
        elif task.due_date < today:
            groups["overdue"].append(task)
        elif task.due_date <= week_end:
            groups["this_week"].append(task)
        else:
            groups["later"].append(task)
    return groups


def unresponsive_suggestions(*, owner, now: datetime | None = None, limit: int = 20) -> QuerySet:
    """Contacts of this owner (or of their accounts) with no reply two weeks after the last outreach."""
    now = now or timezone.now()
    return (
        Contact.objects.filter(
            Q(owner=owner) | Q(owner__isnull=True, account__ae_owner=owner),
            last_outreach_at__lte=now - UNRESPONSIVE_AFTER,
            lifecycle_stage__in=LEAD_STATUS_STAGES,
        )
        .filter(Q(last_reply_at__isnull=True) | Q(last_reply_at__lt=F("last_outreach_at")))
        .exclude(lead_status__in=UNRESPONSIVE_NOT_SUGGESTED)
        .select_related("account")
        .order_by("last_outreach_at", "id")[:limit]
    )


def notifications_for(*, user, limit: int = 20) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user).order_by("-created_at", "-id")[:limit])


def unread_notification_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def onboarding_plans_of(*, account_id: int, deal_id: int | None = None) -> list[OnboardingPlan]:
    """The account's onboarding plans (or one deal's) with their tasks and progress (two queries)."""
    plans = OnboardingPlan.objects.filter(account_id=account_id).select_related("deal", "csm").order_by("-created_at")
    if deal_id is not None:
        plans = plans.filter(deal_id=deal_id)
    plans = list(plans)
    tasks_by_plan: dict[int, list[Task]] = {plan.pk: [] for plan in plans}
    for task in Task.objects.filter(onboarding_plan__in=plans).select_related("assignee").order_by("position", "id"):
        tasks_by_plan[task.onboarding_plan_id].append(task)
    for plan in plans:
        plan.steps = tasks_by_plan[plan.pk]
        counted = [task for task in plan.steps if task.status != Task.Status.CANCELLED]
        done = sum(1 for task in counted if task.status == Task.Status.DONE)
        plan.progress = round(100 * done / len(counted)) if counted else 0
        plan.done_count, plan.step_count = done, len(counted)
    return plans


def account_open_tasks(*, account_id: int) -> list[Task]:
    return list(
        Task.objects.filter(account_id=account_id, onboarding_plan__isnull=True)
        .exclude(status=Task.Status.CANCELLED)
        .select_related("assignee")
        .order_by("status", F("due_date").asc(nulls_last=True), "id")[:50]
    )


@dataclass
class ContactLifecycle:
    """What the contact page shows about the lifecycle: where the contact is, where it may go, and its history."""

    stages: list[tuple[str, str, str]]  # (value, label, "done" | "current" | "todo") along the funnel
    next_stages: list[tuple[str, str]]
    qualification: object
    history: list[LifecycleStageChange]
    unresponsive_suggested: bool


def contact_lifecycle(*, contact: Contact, evangelist_enabled: bool) -> ContactLifecycle:
    from lifecycle.models import ContactQualification
    from lifecycle.rules import STAGE_RANK
    from lifecycle.services import unresponsive_suggested

    path = [S for S in FUNNEL_STAGES if S != LifecycleStage.PRODUCT_QUALIFIED_LEAD]
    if contact.lifecycle_stage == LifecycleStage.PRODUCT_QUALIFIED_LEAD:
        path[path.index(LifecycleStage.MARKETING_QUALIFIED_LEAD)] = LifecycleStage.PRODUCT_QUALIFIED_LEAD
    if evangelist_enabled or contact.lifecycle_stage == LifecycleStage.EVANGELIST:
        path.append(LifecycleStage.EVANGELIST)
    current_rank = STAGE_RANK.get(contact.lifecycle_stage, -1)
    stages = []
    for stage in path:
        if stage == contact.lifecycle_stage:
            state = "current"
        elif STAGE_RANK[stage] < current_rank:
            state = "done"
        else:
            state = "todo"
        stages.append((stage, LifecycleStage(stage).label, state))
    next_stages = [
        (stage, LifecycleStage(stage).label)
        for stage in NEXT_STAGES[contact.lifecycle_stage]
        if stage != LifecycleStage.EVANGELIST or evangelist_enabled
    ]
    if contact.lifecycle_stage != LifecycleStage.OTHER:
        next_stages.append((LifecycleStage.OTHER, LifecycleStage.OTHER.label))
    return ContactLifecycle(
        stages=stages,
        next_stages=next_stages,
        qualification=ContactQualification.objects.filter(contact=contact).first(),
        history=list(contact_stage_history(contact=contact)),
        unresponsive_suggested=unresponsive_suggested(contact=contact),
    )


def account_deals(*, account_id: int, pipeline_settings: PipelineSettings) -> list[Deal]:
    return list(
        with_weights(Deal.objects.filter(account_id=account_id).select_related("owner"), pipeline_settings).order_by(
            F("closed_at").desc(nulls_first=True), "expected_close_date", "id"
        )[:20]
    )


def kickoff_date_expression():
    """The account's kickoff day, as an expression for `Account` querysets (QBRs are timed from it, seed 003).

    The first step of the account's first onboarding plan is the kickoff call: the day it was done, else the day
    it is due. No plan: NULL.
    """
    from django.db.models import DateField, OuterRef, Subquery
    from django.db.models.functions import Coalesce, TruncDate

    first_step = (
        Task.objects.filter(account=OuterRef("pk"), onboarding_plan__isnull=False)
        .order_by("onboarding_plan__created_at", "onboarding_plan_id", "position", "id")
        .annotate(day=Coalesce(TruncDate("completed_at"), "due_date", output_field=DateField()))
        .values("day")[:1]
    )
    return Subquery(first_step, output_field=DateField())


def onboarding_progress_by_account(*, account_ids: list[int] | None = None) -> dict[int, float]:
    """Share of onboarding steps done (percent) per account with an open or completed plan: one grouped query.
    A completed plan counts as done whatever its steps say (the CSM closed it)."""
    tasks = Task.objects.filter(
        onboarding_plan__status__in=(OnboardingPlan.Status.OPEN, OnboardingPlan.Status.COMPLETED)
    ).exclude(status=Task.Status.CANCELLED)
    if account_ids is not None:
        tasks = tasks.filter(account_id__in=account_ids)
    rows = (
        tasks.values("account_id")
        .annotate(
            total=Count("id"),
            done=Count("id", filter=Q(status=Task.Status.DONE)),
            completed=Count("id", filter=Q(onboarding_plan__status=OnboardingPlan.Status.COMPLETED)),
        )
        .order_by()
    )
    return {
        row["account_id"]: 100.0 if row["completed"] else row["done"] * 100.0 / row["total"]
        for row in rows
        if row["total"]
    }
