"""Reads of health: effective scores (the contract playbooks use), the account list's columns, the account card
with "why" and "what changed", the signals list and the model editor. All run inside the tenant scope."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, When
from django.utils import timezone

from health import scoring
from health.models import (
    AccountHealth,
    Band,
    CsmSentiment,
    HealthModel,
    HealthScore,
    HealthSignal,
    MeasureType,
    SignalKind,
)

HISTORY_DAYS = 90
SIGNAL_KIND_FILTERS = {
    "risk": Q(kind=SignalKind.USAGE_DROP) | Q(kind=SignalKind.THRESHOLD_CROSSED, detail__direction="down"),
    "expansion": Q(kind__in=(SignalKind.SEAT_GROWTH, SignalKind.INSTANCE_GROWTH)),
}


def effective_scores(*, account_ids) -> dict[int, int]:
    """The score each account is treated as having: an active override, else the computed score. Accounts without a
    score are absent. For playbooks and anything else that acts on health; call it inside the tenant scope."""
    now = timezone.now()
    rows = AccountHealth.objects.filter(account_id__in=list(account_ids)).values_list(
        "account_id", "computed_score", "override_score", "override_expires_at"
    )
    return {
        account_id: override if override is not None and expires is not None and expires > now else computed
        for account_id, computed, override, expires in rows
    }


def effective_score_expression(now: datetime | None = None):
    """SQL for the effective score of an account row (through its `health` row), for list sorting and filters."""
    now = now or timezone.now()
    return Case(
        When(
            health__override_score__isnull=False, health__override_expires_at__gt=now, then=F("health__override_score")
        ),
        default=F("health__computed_score"),
        output_field=IntegerField(),
    )


def accounts_with_health(accounts: QuerySet) -> QuerySet:
    """The account list's `health_score` (effective), `health_trend` and `health_overridden` columns: one LEFT JOIN in
    the list's one query, so its query count does not change."""
    return accounts.annotate(
        health_score=effective_score_expression(),
        health_trend=F("health__trend_delta"),
        health_overridden=Case(
            When(health__override_score__isnull=False, health__override_expires_at__gt=timezone.now(), then=1),
            default=0,
            output_field=IntegerField(),
        ),
    )


def band_of(score: int | None) -> str:
    return scoring.band_of(score) if score is not None else ""


@dataclass
class Factor:
    measure: str
    label: str
    unit: str
    value: float | None
    score: float | None
    weight: float
    points: float
    lost: float
    change: float | None = None  # points now minus points ~7 days ago


@dataclass
class HealthCard:
    health: AccountHealth | None
    latest: HealthScore | None
    effective_score: int | None
    effective_band: str
    overridden: bool
    override_expired: bool
    factors: list[Factor] = field(default_factory=list)
    pulling_down: list[Factor] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    week_ago: HealthScore | None = None
    changes: list[Factor] = field(default_factory=list)
    chart: dict[str, Any] | None = None
    signals: list[HealthSignal] = field(default_factory=list)
    sentiment: CsmSentiment | None = None
    model_name: str = ""
    coverage: int | None = None  # % of the model's weight the score rests on, when a measure had no data
    coverage_low: bool = False  # below LOW_COVERAGE_PERCENT: the card says to read the score with care


# Below this share of the model's weight, the card warns that the score says little (seed 001: health is a signal to
# act on, and one built on a third of its inputs would mislead).
LOW_COVERAGE_PERCENT = 50


def _coverage(measures: list[dict[str, Any]], missing: list[str]) -> int | None:
    weights = {m["type"]: float(m["weight"]) for m in measures}
    total = sum(weights.values())
    if total <= 0:
        return None
    return round(100 * (total - sum(weights.get(m, 0.0) for m in missing)) / total)


def _label(measure: str) -> str:
    return MeasureType(measure).label if measure in MeasureType.values else measure


def account_health_card(*, account_id: int, now: datetime | None = None) -> HealthCard:
    """Everything the account page's health card shows, in five queries whatever the history holds."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    health = AccountHealth.objects.filter(account_id=account_id).select_related("override_by").first()
    history = list(
        HealthScore.objects.filter(account_id=account_id, day__gt=today - timedelta(days=HISTORY_DAYS))
        .select_related("health_model")
        .order_by("day")
    )
    signals = list(HealthSignal.objects.filter(account_id=account_id).order_by("-raised_at", "-id")[:8])
    sentiment = (
        CsmSentiment.objects.filter(account_id=account_id)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")
        .first()
    )
    latest = history[-1] if history else None
    card = HealthCard(
        health=health, latest=latest, effective_score=None, effective_band="", overridden=False,
        override_expired=False, signals=signals, sentiment=sentiment,
    )  # fmt: skip
    if health is None or latest is None:
        return card
    card.overridden = health.override_active(now)
    card.override_expired = health.override_score is not None and not card.overridden
    card.effective_score = health.effective_score(now)
    card.effective_band = band_of(card.effective_score)
    card.model_name = f"{latest.health_model.name if latest.health_model else 'Deleted model'} v{latest.model_version}"
    week_ago = next((row for row in reversed(history) if row.day <= today - timedelta(days=7)), None)
    card.week_ago = week_ago
    before = week_ago.contributions if week_ago else {}
    for measure, part in latest.contributions.items():
        change = round(part["points"] - before[measure]["points"], 1) if measure in before else None
        card.factors.append(
            Factor(
                measure=measure, label=_label(measure), unit=scoring.MEASURE_UNITS.get(measure, ""),
                value=latest.inputs.get(measure), score=part["score"], weight=part["weight"], points=part["points"],
                lost=part["lost"], change=change,
            )
        )  # fmt: skip
    card.factors.sort(key=lambda f: -f.weight)
    card.pulling_down = sorted((f for f in card.factors if f.lost >= 1), key=lambda f: -f.lost)[:3]
    if week_ago:
        gone = [m for m in before if m not in latest.contributions]
        card.changes = sorted((f for f in card.factors if f.change), key=lambda f: f.change)
        for measure in gone:
            card.changes.append(
                Factor(
                    measure=measure, label=_label(measure), unit="no data now", value=None, score=None, weight=0,
                    points=0, lost=0, change=-before[measure]["points"],
                )
            )  # fmt: skip
    card.missing = [{"measure": m, "label": _label(m)} for m in latest.missing]
    if latest.missing and latest.health_model:
        card.coverage = _coverage(latest.health_model.measures, latest.missing)
        card.coverage_low = card.coverage is not None and card.coverage < LOW_COVERAGE_PERCENT
    card.chart = {
        "labels": [row.day.isoformat() for row in history],
        "scores": [row.score for row in history],
        "thresholds": list(scoring.BAND_THRESHOLDS),
    }
    return card


@dataclass(frozen=True)
class SignalFilters:
    kind: str = ""  # a SignalKind, or "risk" / "expansion"
    account_id: int | None = None


def signal_list(*, filters: SignalFilters) -> QuerySet:
    signals = HealthSignal.objects.select_related("account")
    if filters.kind in SIGNAL_KIND_FILTERS:
        signals = signals.filter(SIGNAL_KIND_FILTERS[filters.kind])
    elif filters.kind:
        signals = signals.filter(kind=filters.kind)
    if filters.account_id:
        signals = signals.filter(account_id=filters.account_id)
    return signals


def health_model_for_editor(*, cohort: str) -> tuple[HealthModel | None, HealthModel | None]:
    """(the cohort's own model or None, the default model)."""
    models = {model.cohort: model for model in HealthModel.objects.filter(cohort__in={"", cohort})}
    return (models.get(cohort) if cohort else models.get("")), models.get("")


def health_models() -> list[HealthModel]:
    return list(HealthModel.objects.order_by("cohort"))


def health_pack_part(*, account, start: date, end: date):
    """The QBR data pack's "Health score" part: the score at the quarter's end, its trend over the quarter and the
    main factors, or "no data yet" while the organization has no scores (registered in health/apps.py)."""
    from qbr.datapack import PackPart

    rows = list(HealthScore.objects.filter(account_id=account.pk, day__gte=start, day__lte=end).order_by("day"))
    source = "Health scores (computed nightly and when their inputs change)"
    if not rows:
        any_scores = HealthScore.objects.exists()
        return PackPart(
            key="health", title="Health score", source=source, as_of=None, available=False,
            empty_message=(
                "No data yet: no health score was computed for this account this quarter."
                if any_scores
                else "No data yet: health scores are not set up."
            ),
        )  # fmt: skip
    first, last = rows[0], rows[-1]
    factors = sorted(last.contributions.items(), key=lambda item: -item[1]["lost"])[:3]
    return PackPart(
        key="health",
        title="Health score",
        source=source,
        as_of=last.computed_at,
        available=True,
        data={
            "score": last.score,
            "band": Band(last.band).label,
            "start_score": first.score,
            "change": last.score - first.score,
            "factors": [{"label": _label(m), "lost": part["lost"]} for m, part in factors if part["lost"] >= 1],
            "missing": [_label(m) for m in last.missing],
        },
    )


def account_health_list() -> QuerySet:
    return AccountHealth.objects.select_related("account")
