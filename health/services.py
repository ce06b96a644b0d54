"""Writes of health: computing scores set-based, overrides, sentiment, the model editor, signals and their events."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Account, AccountStatus, Cohort
from core.bulk import bulk_upsert
from core.errors import ApplicationError
from core.events import DomainEvent, event_publish
from core.models import Organization
from core.services import audit_record
from core.tenancy import Tenant
from health import scoring
from health.inputs import measure_inputs
from health.models import AccountHealth, CsmSentiment, HealthModel, HealthScore, HealthSignal, SignalKind

# Signals (seed 001, "Identification of expansion signals"; "Proactively identify and address adoption risk").
USAGE_DROP_PERCENT = -30.0  # activity of the last 14 days vs the 14 before
GROWTH_PERCENT = 20.0  # users or instances this week vs four weeks earlier
MIN_SEAT_GROWTH, MIN_INSTANCE_GROWTH = 2, 1
OVERRIDE_MAX_DAYS = 180


# --- Models ---------------------------------------------------------------------------------------------------------


def health_models_ensure(*, organization: Organization) -> dict[str, HealthModel]:
    """The organization's models by cohort ("" is the default), creating seed 001's default and the Trial model
    the first time: every organization can be scored before anyone opens the editor."""
    models = {model.cohort: model for model in HealthModel.objects.all()}
    if "" not in models:
        models[""], _ = HealthModel.objects.get_or_create(
            organization=organization, cohort="", defaults={"name": "Default", "measures": scoring.DEFAULT_MEASURES}
        )
        if Cohort.TRIAL not in models:
            models[Cohort.TRIAL], _ = HealthModel.objects.get_or_create(
                organization=organization,
                cohort=Cohort.TRIAL,
                defaults={"name": "Trial: time to value", "measures": scoring.TRIAL_MEASURES},
            )
    return models


def health_model_save(*, tenant: Tenant, cohort: str, name: str, measures: list[dict[str, Any]]) -> HealthModel:
    """Creates or edits a cohort's model (blank: the default). Every edit bumps the version the scores record."""
    errors = scoring.measures_validate(measures)
    if errors:
        raise ApplicationError("The model has errors.", field_errors={"measures": errors})
    if cohort and cohort not in Cohort.values:
        raise ApplicationError("Unknown cohort.", field_errors={"cohort": "Choose a cohort."})
    if not name.strip():
        raise ApplicationError("Give the model a name.", field_errors={"name": "Give the model a name."})
    kept = list(measures)  # a weight of 0 keeps its thresholds for later but leaves the measure out
    with transaction.atomic():
        model = HealthModel.objects.select_for_update().filter(cohort=cohort).first()
        if model is None:
            model = HealthModel.objects.create(
                organization=tenant.organization, cohort=cohort, name=name.strip(), measures=kept,
                updated_by=tenant.member,
            )  # fmt: skip
            changes = {"measures": [None, len(kept)]}
        else:
            if model.measures == kept and model.name == name.strip():
                return model  # nothing changed: the version stays
            changes = {"version": [model.version, model.version + 1]}
            model.name, model.measures, model.version, model.updated_by = (
                name.strip(), kept, model.version + 1, tenant.member,
            )  # fmt: skip
            model.save()
        audit_record(tenant=tenant, action="health.model_saved", obj=model, changes=changes)
        _rescore_after_commit(tenant.organization)
    return model


def _rescore_after_commit(organization: Organization) -> None:
    """A changed model rescores the organization (a task, once the change commits); an unchanged save does not."""
    from health.tasks import health_recompute_organization  # the tasks module imports this one

    organization_id = organization.pk
    transaction.on_commit(lambda: health_recompute_organization.delay(organization_id))


def health_model_delete(*, tenant: Tenant, cohort: str) -> None:
    """A cohort falls back to the default model; the default itself stays."""
    if not cohort:
        raise ApplicationError("The default model cannot be removed; edit it instead.")
    model = HealthModel.objects.filter(cohort=cohort).first()
    if model is not None:
        audit_record(tenant=tenant, action="health.model_deleted", obj=model, changes={"cohort": [cohort, None]})
        model.delete()
        _rescore_after_commit(tenant.organization)


# --- Compute --------------------------------------------------------------------------------------------------------


@dataclass
class ComputeResult:
    scored: int
    signals: int
    crossings: int


def health_compute(
    *, organization: Organization, account_ids: list[int] | None = None, now: datetime | None = None
) -> ComputeResult:
    """Scores the organization's active accounts (or the few given): one grouped query per source over all of
    them, pure-Python scoring, then one statement per table. Recomputing the same day replaces that day's row, so
    a rerun or a redelivered task changes nothing more; signals are unique per period and published once."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    models = health_models_ensure(organization=organization)
    accounts = Account.objects.filter(status=AccountStatus.ACTIVE)
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
    cohort_of = dict(accounts.values_list("pk", "cohort"))
    ids = list(cohort_of)
    if not ids:
        return ComputeResult(0, 0, 0)
    restrict = account_ids is not None
    inputs, usage = measure_inputs(account_ids=ids, now=now, today=today, restrict=restrict)
    current = AccountHealth.objects.all()
    week_ago = HealthScore.objects.filter(day__gte=today - timedelta(days=9), day__lte=today - timedelta(days=7))
    if restrict:
        current, week_ago = current.filter(account_id__in=ids), week_ago.filter(account_id__in=ids)
    previous = {
        account_id: (score, signalled or band)
        for account_id, score, signalled, band in current.values_list(
            "account_id", "computed_score", "signalled_band", "band"
        )
    }
    score_week_ago = dict(week_ago.order_by("day").values_list("account_id", "score"))  # the latest day wins

    score_rows, health_rows, signals = [], [], []
    prepared = {cohort: scoring.measures_prepare(model.measures) for cohort, model in models.items()}
    for account_id in ids:
        cohort = cohort_of[account_id] if cohort_of[account_id] in models else ""
        model = models[cohort]
        result = scoring.score_compute(prepared=prepared[cohort], inputs=inputs[account_id])
        if result is None:
            continue
        score_rows.append(
            {
                "organization_id": organization.pk, "account_id": account_id, "day": today, "computed_at": now,
                "score": result.score, "band": result.band, "inputs": result.inputs,
                "contributions": result.contributions, "missing": result.missing, "health_model_id": model.pk,
                "model_version": model.version,
            }
        )  # fmt: skip
        before = score_week_ago.get(account_id)
        last_score, signalled_band = previous.get(account_id, (None, None))
        crossed = scoring.band_crossed(signalled_band, result.score)
        health_rows.append(
            {
                "organization_id": organization.pk, "account_id": account_id, "computed_score": result.score,
                "computed_at": now, "band": result.band,
                "trend_delta": result.score - before if before is not None else None,
                "signalled_band": result.band if crossed or signalled_band is None else signalled_band,
                "override_reason": "",
            }
        )  # fmt: skip
        signals.extend(_signals_of(account_id, last_score, crossed, result, inputs[account_id], usage, today))

    with transaction.atomic():
        bulk_upsert(
            HealthScore, score_rows, unique_fields=["account_id", "day"],
            update_fields=["computed_at", "score", "band", "inputs", "contributions", "missing", "health_model_id",
                           "model_version"],
            one_statement=True,
        )  # fmt: skip
        bulk_upsert(
            AccountHealth, health_rows, unique_fields=["account_id"],
            update_fields=["computed_score", "computed_at", "band", "trend_delta", "signalled_band"],
            one_statement=True,
        )  # fmt: skip
        raised = _signals_record(organization=organization, signals=signals, now=now)
    return ComputeResult(
        scored=len(score_rows),
        signals=len(raised),
        crossings=sum(1 for s in raised if s["kind"] == SignalKind.THRESHOLD_CROSSED),
    )


def _signals_of(account_id, before, crossed, result, values, usage, today: date) -> list[dict[str, Any]]:
    week = "{}-W{:02d}".format(*today.isocalendar()[:2])
    found = []
    if crossed:
        threshold, direction = crossed
        found.append(
            {
                "account_id": account_id, "kind": SignalKind.THRESHOLD_CROSSED,
                "period": f"{today.isoformat()}:{threshold}:{direction}",
                "summary": f"Health {direction} from {before} to {result.score}, crossing {threshold}",
                "detail": {
                    "from_score": before, "to_score": result.score, "threshold": threshold, "direction": direction,
                    "band": result.band,
                },
            }
        )  # fmt: skip
    trend = values.get("usage_trend")
    if trend is not None and trend <= USAGE_DROP_PERCENT:
        found.append(
            {
                "account_id": account_id, "kind": SignalKind.USAGE_DROP, "period": week,
                "summary": f"Usage down {abs(round(trend))}% (last 14 days vs the 14 before)",
                "detail": {"change_percent": round(trend, 1)},
            }
        )  # fmt: skip
    row = usage.get(account_id) or {}
    for kind, key, minimum, noun in (
        (SignalKind.SEAT_GROWTH, "users", MIN_SEAT_GROWTH, "users"),
        (SignalKind.INSTANCE_GROWTH, "instances", MIN_INSTANCE_GROWTH, "instances"),
    ):
        now_value, then_value = row.get(f"{key}_week"), row.get(f"{key}_month_ago")
        if now_value is None or not then_value:
            continue
        change = (now_value - then_value) * 100 / then_value
        if change >= GROWTH_PERCENT and now_value - then_value >= minimum:
            found.append(
                {
                    "account_id": account_id, "kind": kind, "period": week,
                    "summary": (
                        f"{noun.capitalize()} up {round(change)}% in four weeks "
                        f"({round(then_value)} → {round(now_value)})"
                    ),
                    "detail": {
                        "from": round(then_value, 1), "to": round(now_value, 1), "change_percent": round(change, 1),
                    },
                }
            )  # fmt: skip
    return found


def _signals_record(*, organization: Organization, signals: list[dict[str, Any]], now: datetime) -> list[dict]:
    """Stores the signals not raised yet in their period and publishes one event for each of those only."""
    if not signals:
        return []
    existing = set(
        HealthSignal.objects.filter(
            account_id__in={s["account_id"] for s in signals}, period__in={s["period"] for s in signals}
        ).values_list("account_id", "kind", "period")
    )
    new = [s for s in signals if (s["account_id"], s["kind"], s["period"]) not in existing]
    # One statement however many signals a night raises; a signal stored meanwhile by another run stays as it was.
    bulk_upsert(
        HealthSignal,
        [{"organization_id": organization.pk, "raised_at": now, **_signal_row(s)} for s in new],
        unique_fields=["account_id", "kind", "period"],
        update_fields=[],
        one_statement=True,
    )
    for signal in new:
        if signal["kind"] == SignalKind.THRESHOLD_CROSSED:
            event_publish(
                DomainEvent(
                    organization_id=organization.pk, name="health.threshold_crossed", account_id=signal["account_id"],
                    object_type="account", object_id=signal["account_id"], payload=dict(signal["detail"]),
                    occurred_at=now,
                )
            )  # fmt: skip
        else:
            event_publish(
                DomainEvent(
                    organization_id=organization.pk, name="health.signal_raised", account_id=signal["account_id"],
                    object_type="account", object_id=signal["account_id"],
                    payload={"kind": str(signal["kind"]), "summary": signal["summary"], **signal["detail"]},
                    occurred_at=now,
                )
            )  # fmt: skip
    return new


def _signal_row(signal: dict[str, Any]) -> dict[str, Any]:
    return {"account_id": signal["account_id"], "kind": str(signal["kind"]), "period": signal["period"],
            "summary": signal["summary"], "detail": signal["detail"]}  # fmt: skip


# --- Overrides and sentiment ----------------------------------------------------------------------------------------


def health_override_set(
    *, tenant: Tenant, account: Account, score: int, reason: str, expires_on: date, now: datetime | None = None
) -> AccountHealth:
    """A CSM's own score, with why and until when (at most 180 days); the computed score stays visible beside it
    and takes over again when the override expires."""
    now = now or timezone.now()
    errors = {}
    if score is None or not 0 <= score <= 100:
        errors["score"] = "Give a score from 0 to 100."
    if not (reason or "").strip():
        errors["reason"] = "Say why: the next person reading this score needs to know."
    if expires_on is None or expires_on <= timezone.localdate(now):
        errors["expires_on"] = "Choose a day after today."
    elif expires_on > timezone.localdate(now) + timedelta(days=OVERRIDE_MAX_DAYS):
        errors["expires_on"] = f"An override lasts at most {OVERRIDE_MAX_DAYS} days; set it again after that."
    health = AccountHealth.objects.filter(account=account).first()
    if health is None and not errors:
        errors["score"] = "This account has no computed score yet; override it once it is scored."
    if errors:
        raise ApplicationError(next(iter(errors.values())), field_errors=errors)
    expires_at = timezone.make_aware(datetime.combine(expires_on, datetime.min.time()))
    before = health.override_score if health.override_active(now) else None
    health.override_score, health.override_reason, health.override_expires_at = score, reason.strip(), expires_at
    health.override_by, health.override_at = tenant.member, now
    health.save(
        update_fields=["override_score", "override_reason", "override_expires_at", "override_by", "override_at"]
    )
    audit_record(
        tenant=tenant, action="health.overridden", obj=health, account_id=account.pk,
        changes={"override_score": [before, score], "override_reason": [None, health.override_reason]},
    )  # fmt: skip
    return health


def health_override_clear(*, tenant: Tenant, account: Account) -> None:
    health = AccountHealth.objects.filter(account=account, override_score__isnull=False).first()
    if health is None:
        return
    before = health.override_score
    health.override_score, health.override_reason, health.override_expires_at = None, "", None
    health.save(update_fields=["override_score", "override_reason", "override_expires_at"])
    audit_record(
        tenant=tenant, action="health.override_cleared", obj=health, account_id=account.pk,
        changes={"override_score": [before, None]},
    )  # fmt: skip


def sentiment_record(
    *, tenant: Tenant, account: Account, sentiment: int, comment: str = "", now: datetime | None = None
) -> CsmSentiment:
    """The CSM's read, 1 to 5; the account's score is recomputed at once, so the card shows its effect."""
    if sentiment is None or not 1 <= sentiment <= 5:
        raise ApplicationError("Choose a sentiment from 1 to 5.", field_errors={"sentiment": "Choose 1 to 5."})
    now = now or timezone.now()
    row = CsmSentiment.objects.create(
        organization=tenant.organization, account=account, sentiment=sentiment, comment=(comment or "").strip()[:300],
        recorded_by=tenant.member, recorded_at=now,
    )  # fmt: skip
    audit_record(
        tenant=tenant, action="health.sentiment_recorded", obj=row, account_id=account.pk,
        changes={"sentiment": [None, sentiment]},
    )  # fmt: skip
    health_compute(organization=tenant.organization, account_ids=[account.pk], now=now)
    return row
