"""Writes of the churn app: opening a case, running and skipping its steps, the learning answers, the settings.

Seed 000, "Procedure for Handling a Churned Customer": five steps, each recorded on its own `ChurnStep`. A step is
claimed by compare-and-set (pending or failed → running, one conditional UPDATE), so a second click, a redelivered
task or two workers at once run it at most once; a step that is done is never claimed again. Each step's side
effect in another system carries its own guard as well: Stripe gets an idempotency key, a closed deal stays closed,
HubSpot's write-back pushes only what it has not pushed.
"""

import logging
import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountStatus, Cohort, Contact
from accounts.services import account_update
from churn.models import (
    DEFAULT_CHURN_REASONS,
    DEFAULT_LEARNING_QUESTIONS,
    FINISHED_STEP_STATUSES,
    OTHER_REASON,
    STEP_ORDER,
    CancelMode,
    ChurnCase,
    ChurnCaseStatus,
    ChurnSettings,
    ChurnStep,
    StepKind,
    StepStatus,
)
from core.errors import ApplicationError
from core.models import Organization, Role
from core.services import audit_record, field_changes, printable_value
from core.tenancy import Tenant, platform_scope, tenant_scope

logger = logging.getLogger(__name__)

# A step left "running" this long is taken to be a worker that died mid-step; it may be claimed again.
STALE_RUNNING_AFTER = timedelta(minutes=15)
# A failed step is retried by its task this many times (with a growing pause) before it waits for a person.
AUTOMATIC_ATTEMPTS = 3

# Seed 002's lost reasons that say the same as a churn reason; the others close deals as CHURN_LOST_REASON.
LOST_REASON_FOR_CHURN_REASON = {
    "price": "Price",
    "missing_feature": "Missing feature",
    "moved_to_competitor": "Chose a competitor",
    "budget_cut": "No budget",
}
CHURN_LOST_REASON = "Customer churned"


def system_tenant(organization: Organization) -> Tenant:
    """Who acts for a task or for Stripe's suggestion: no member, "System" in histories."""
    return Tenant(organization=organization, role=Role.ADMIN)


# --- Settings --------------------------------------------------------------------------------------------------


def churn_settings_get(*, organization: Organization) -> ChurnSettings:
    """The organization's churn settings, with the default taxonomy and questions on first use."""
    found = ChurnSettings.objects.filter(organization=organization).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return ChurnSettings.objects.create(
                organization=organization,
                reasons=[list(pair) for pair in DEFAULT_CHURN_REASONS],
                learning_questions=list(DEFAULT_LEARNING_QUESTIONS),
            )
    except IntegrityError:
        return ChurnSettings.objects.get(organization=organization)


def _reason_code(label: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in label.strip().lower()).strip("_")[:40]


@transaction.atomic
def churn_settings_update(
    *, tenant: Tenant, reasons: list[str] | None = None, learning_questions: list[str] | None = None,
    sales_slack_webhook_url: str | None = None, acknowledgment_intro: str | None = None,
) -> ChurnSettings:  # fmt: skip
    """Reasons are given as labels (one per line in the form); codes of existing labels are kept so past cases
    still read. "Other" is always offered, since a reason outside the list must still be sayable."""
    churn_settings = churn_settings_get(organization=tenant.organization)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if reasons is not None:
        known = {label: code for code, label in churn_settings.reasons}
        cleaned: list[list[str]] = []
        for label in dict.fromkeys(label.strip() for label in reasons if label and label.strip()):
            code = known.get(label) or _reason_code(label)
            if code and code not in {c for c, _ in cleaned}:
                cleaned.append([code, label[:80]])
        if not any(code == OTHER_REASON for code, _ in cleaned):
            cleaned.append([OTHER_REASON, "Other"])
        if len(cleaned) < 2:
            errors["reasons"] = ["Give at least one reason besides Other."]
        values["reasons"] = cleaned
    if learning_questions is not None:
        questions = [q.strip() for q in learning_questions if q and q.strip()]
        if not questions:
            errors["learning_questions"] = ["Ask the customer at least one question."]
        values["learning_questions"] = questions[:10]
    if sales_slack_webhook_url is not None:
        url = sales_slack_webhook_url.strip()
        if (
            url
            and not url.startswith("https://hooks.slack.com/")
            and not url.startswith("https://hooks.slack-gov.com/")
        ):
            # The server posts to this address; anything but Slack's own host would let it be pointed anywhere.
            errors["sales_slack_webhook_url"] = [
                "Paste the channel's Slack incoming webhook, which starts with https://hooks.slack.com/services/."
            ]
        values["sales_slack_webhook_url"] = url
    if acknowledgment_intro is not None:
        values["acknowledgment_intro"] = acknowledgment_intro.strip()
    if errors:
        raise ValidationError(errors)
    changes = field_changes(churn_settings, values, values.keys())
    if "sales_slack_webhook_url" in changes:
        changes["sales_slack_webhook_url"] = ["set" if changes["sales_slack_webhook_url"][0] else "not set", "changed"]
    for key, value in values.items():
        setattr(churn_settings, key, value)
    churn_settings.save()
    if changes:
        audit_record(tenant=tenant, action="churn.settings_updated", obj=churn_settings, changes=changes)
    return churn_settings


# --- Cases -----------------------------------------------------------------------------------------------------

CASE_FIELDS = (
    "churn_date", "arr_lost", "primary_reason", "secondary_reason", "reason_other", "summary", "cancel_mode",
    "stripe_subscription_id",
)  # fmt: skip


def _validate_case_values(churn_settings: ChurnSettings, values: dict[str, Any]) -> None:
    codes = churn_settings.reason_labels
    errors: dict[str, list[str]] = {}
    primary = values.get("primary_reason") or ""
    secondary = values.get("secondary_reason") or ""
    if not primary:
        errors["primary_reason"] = ["Choose the main reason the customer gave."]
    elif primary not in codes:
        errors["primary_reason"] = [f"'{primary}' is not one of this organization's churn reasons."]
    if secondary and secondary not in codes:
        errors["secondary_reason"] = [f"'{secondary}' is not one of this organization's churn reasons."]
    elif secondary and secondary == primary:
        errors["secondary_reason"] = ["The secondary reason repeats the main one: choose another or leave it empty."]
    if OTHER_REASON in (primary, secondary) and not (values.get("reason_other") or "").strip():
        errors["reason_other"] = ["The reason is Other: say in a few words what it was."]
    if values.get("churn_date") is None:
        errors["churn_date"] = ["When does the customer leave? Give the churn date (usually the renewal date)."]
    arr_lost = values.get("arr_lost")
    if arr_lost is not None and Decimal(arr_lost) < 0:
        errors["arr_lost"] = ["ARR lost is zero or more."]
    if values.get("cancel_mode", CancelMode.PERIOD_END) not in CancelMode.values:
        errors["cancel_mode"] = ["Cancel at the end of the paid period, or now."]
    if errors:
        raise ValidationError(errors)


def _steps_create(case: ChurnCase) -> None:
    ChurnStep.objects.bulk_create(
        ChurnStep(organization_id=case.organization_id, case=case, kind=kind, position=position)
        for position, kind in enumerate(STEP_ORDER, start=1)
    )


def _advance_on_commit(case: ChurnCase) -> None:
    from churn.tasks import churn_case_advance_task

    organization_id, case_id = case.organization_id, case.pk
    transaction.on_commit(lambda: churn_case_advance_task.delay(organization_id, case_id))


@transaction.atomic
def churn_case_open(*, tenant: Tenant, account: Account, **values: Any) -> ChurnCase:
    """An AE or CSM records that the customer will not renew (seed 000: "an annually-billed customer chooses not
    to renew"). Opens the case with its five pending steps and starts the ones whose inputs are ready.

    One live case per account: opening again returns the open case unchanged; a case Stripe suggested is
    confirmed with these values instead.
    """
    values = {key: value for key, value in values.items() if key in CASE_FIELDS}
    account = Account.objects.select_for_update().get(pk=account.pk)
    live = ChurnCase.objects.filter(
        account=account, status__in=(ChurnCaseStatus.OPEN, ChurnCaseStatus.SUGGESTED)
    ).first()
    if live is not None and live.status == ChurnCaseStatus.OPEN:
        return live
    if live is not None:
        return churn_case_confirm(tenant=tenant, case=live, **values)
    churn_settings = churn_settings_get(organization=tenant.organization)
    values.setdefault("churn_date", account.renewal_date)
    if values.get("arr_lost") is None:
        values["arr_lost"] = account.arr
    values.setdefault("cancel_mode", CancelMode.PERIOD_END)
    _validate_case_values(churn_settings, values)
    case = ChurnCase.objects.create(
        organization=tenant.organization,
        account=account,
        status=ChurnCaseStatus.OPEN,
        currency=account.currency,
        cohort=account.cohort,
        opened_by=tenant.member,
        opened_by_label=tenant.actor_label,
        opened_at=timezone.now(),
        learning_token=secrets.token_urlsafe(32),
        **_clean_text(values),
    )
    _steps_create(case)
    audit_record(
        tenant=tenant,
        action="churn.case_opened",
        obj=case,
        changes={key: [None, printable_value(getattr(case, key))] for key in CASE_FIELDS if getattr(case, key)},
        account_id=account.pk,
    )
    _advance_on_commit(case)
    return case


def _clean_text(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value.strip() if isinstance(value, str) else value for key, value in values.items()}


@transaction.atomic
def churn_case_confirm(*, tenant: Tenant, case: ChurnCase, **values: Any) -> ChurnCase:
    """A member confirms a case Stripe suggested: it opens with the reasons they give, and its steps start."""
    case = ChurnCase.objects.select_for_update().get(pk=case.pk)
    if case.status != ChurnCaseStatus.SUGGESTED:
        return case
    values = {key: value for key, value in values.items() if key in CASE_FIELDS}
    merged = {key: getattr(case, key) for key in CASE_FIELDS} | _clean_text(values)
    _validate_case_values(churn_settings_get(organization=tenant.organization), merged)
    changes = field_changes(case, merged, CASE_FIELDS)
    for key, value in merged.items():
        setattr(case, key, value)
    case.status = ChurnCaseStatus.OPEN
    case.opened_by, case.opened_by_label, case.opened_at = tenant.member, tenant.actor_label, timezone.now()
    case.save()
    audit_record(
        tenant=tenant,
        action="churn.case_confirmed",
        obj=case,
        changes={"status": [ChurnCaseStatus.SUGGESTED, ChurnCaseStatus.OPEN], **changes},
        account_id=case.account_id,
    )
    _advance_on_commit(case)
    return case


@transaction.atomic
def churn_case_update(*, tenant: Tenant, case: ChurnCase, **values: Any) -> ChurnCase:
    """Edits the reasons, summary, date and amount of a live case. How Stripe is canceled can change only until
    the cancel step has run."""
    case = ChurnCase.objects.select_for_update().get(pk=case.pk)
    if case.status in (ChurnCaseStatus.CLOSED, ChurnCaseStatus.DISMISSED):
        raise ApplicationError(f"This case is {case.get_status_display().lower()}; it no longer changes.")
    values = _clean_text({key: value for key, value in values.items() if key in CASE_FIELDS})
    cancel_step = case.steps.filter(kind=StepKind.CANCEL_STRIPE).first()
    if (
        "cancel_mode" in values
        and values["cancel_mode"] != case.cancel_mode
        and cancel_step is not None
        and cancel_step.status != StepStatus.PENDING
    ):
        raise ValidationError({"cancel_mode": ["The Stripe step has already run; how it cancels no longer changes."]})
    merged = {key: getattr(case, key) for key in CASE_FIELDS} | values
    _validate_case_values(churn_settings_get(organization=tenant.organization), merged)
    changes = field_changes(case, merged, CASE_FIELDS)
    if not changes:
        return case
    for key, value in merged.items():
        setattr(case, key, value)
    case.save()
    audit_record(tenant=tenant, action="churn.case_updated", obj=case, changes=changes, account_id=case.account_id)
    return case


@transaction.atomic
def churn_case_dismiss(*, tenant: Tenant, case: ChurnCase, reason: str) -> ChurnCase:
    """A suggestion that is not a churn (a plan change that Stripe reports as a cancellation), or a case opened by
    mistake before any step ran."""
    case = ChurnCase.objects.select_for_update().get(pk=case.pk)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why this is not a churn."]})
    if case.status in (ChurnCaseStatus.CLOSED, ChurnCaseStatus.DISMISSED):
        return case
    if case.steps.exclude(status=StepStatus.PENDING).exists():
        raise ApplicationError("Steps of this case have already run: finish it (run or skip each step) instead.")
    previous = case.status
    case.status = ChurnCaseStatus.DISMISSED
    case.closed_at = timezone.now()
    case.save(update_fields=["status", "closed_at", "updated_at"])
    audit_record(
        tenant=tenant,
        action="churn.case_dismissed",
        obj=case,
        changes={"status": [previous, case.status], "reason": [None, reason.strip()]},
        account_id=case.account_id,
    )
    return case


@transaction.atomic
def churn_case_delete(*, tenant: Tenant, case: ChurnCase) -> None:
    """Only a case nothing was done for yet: a step that ran left traces in other systems, so its case stays."""
    if case.steps.exclude(status=StepStatus.PENDING).exists():
        raise ApplicationError("Steps of this case have already run; it cannot be deleted. Finish or skip them.")
    audit_record(tenant=tenant, action="churn.case_deleted", obj=case, account_id=case.account_id)
    case.delete()


def churn_case_suggest_from_stripe(*, organization: Organization, subscription_stripe_ids: set[str] | list[str]) -> int:
    """Called by the Stripe sync after it applied subscriptions (revenue.sync.subscriptions_apply): a subscription
    canceled, or set to cancel, on an active account suggests a churn case for a member to confirm. Returns how
    many were suggested; an account with a live case gets none."""
    from revenue.models import StripeSubscription

    if not subscription_stripe_ids:
        return 0
    candidates = list(
        StripeSubscription.objects.filter(stripe_id__in=list(subscription_stripe_ids), account__isnull=False)
        .filter(Q(status="canceled") | Q(cancel_at_period_end=True) | Q(cancel_at__isnull=False))
        .filter(account__status=AccountStatus.ACTIVE)
        .select_related("account")
    )
    if not candidates:
        return 0
    live = set(
        ChurnCase.objects.filter(
            account_id__in=[s.account_id for s in candidates],
            status__in=(ChurnCaseStatus.OPEN, ChurnCaseStatus.SUGGESTED),
        ).values_list("account_id", flat=True)
    )
    tenant = system_tenant(organization)
    suggested = 0
    for subscription in candidates:
        if subscription.account_id in live:
            continue
        account = subscription.account
        ends = subscription.ended_at or subscription.cancel_at or subscription.current_period_end
        because = (
            "Stripe reports the subscription canceled"
            if subscription.status == "canceled"
            else "Stripe reports the subscription set to cancel"
        )
        try:
            with transaction.atomic():
                case = ChurnCase.objects.create(
                    organization=organization,
                    account=account,
                    status=ChurnCaseStatus.SUGGESTED,
                    churn_date=(ends.date() if ends else timezone.localdate()),
                    arr_lost=account.arr,
                    currency=account.currency,
                    cohort=account.cohort,
                    stripe_subscription_id=subscription.stripe_id,
                    suggested_because=f"{because} ({subscription.stripe_id}).",
                    learning_token=secrets.token_urlsafe(32),
                )
                _steps_create(case)
                audit_record(
                    tenant=tenant,
                    action="churn.case_suggested",
                    obj=case,
                    changes={"suggested_because": [None, case.suggested_because]},
                    account_id=account.pk,
                )
        except IntegrityError:
            continue  # a case appeared meanwhile (the unique live-case constraint): nothing to suggest
        live.add(account.pk)
        suggested += 1
    return suggested


def _close_if_finished(tenant: Tenant, case: ChurnCase) -> ChurnCase:
    """The case closes only when every step is done or skipped with a reason."""
    if case.status != ChurnCaseStatus.OPEN:
        return case
    if case.steps.exclude(status__in=FINISHED_STEP_STATUSES).exists():
        return case
    closed = ChurnCase.objects.filter(pk=case.pk, status=ChurnCaseStatus.OPEN).update(
        status=ChurnCaseStatus.CLOSED, closed_at=timezone.now()
    )
    case.refresh_from_db()
    if closed:
        audit_record(
            tenant=tenant,
            action="churn.case_closed",
            obj=case,
            changes={"status": [ChurnCaseStatus.OPEN, ChurnCaseStatus.CLOSED]},
            account_id=case.account_id,
        )
    return case


# --- Steps -----------------------------------------------------------------------------------------------------


class StepFailedError(Exception):
    """A step's side effect did not happen; the message is what the user reads on the step."""

    def __init__(self, message: str, result: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.result = result or {}


def _open_subscriptions(case: ChurnCase) -> list:
    from revenue.models import StripeSubscription

    subscriptions = StripeSubscription.objects.filter(account_id=case.account_id)
    if case.stripe_subscription_id:
        subscriptions = StripeSubscription.objects.filter(stripe_id=case.stripe_subscription_id)
    return list(subscriptions.order_by("-start_date", "-id"))


def churn_step_readiness(*, step: ChurnStep) -> str:
    """ "" when the step's inputs are ready; otherwise the sentence saying what it waits for."""
    case = step.case
    if case.status != ChurnCaseStatus.OPEN:
        return "Confirm the case first." if case.status == ChurnCaseStatus.SUGGESTED else "The case is not open."
    if step.kind == StepKind.CANCEL_STRIPE and not _open_subscriptions(case):
        return "No Stripe subscription is linked to this account. Sync Stripe, or skip this step with a reason."
    if (
        step.kind == StepKind.ANNOUNCE_SLACK
        and not churn_settings_get(organization=case.organization).sales_slack_webhook_url
    ):
        return "No sales channel yet: an admin adds its Slack webhook in Churn settings (or skip with a reason)."
    if (
        step.kind == StepKind.SEND_ACKNOWLEDGMENT
        and not Contact.objects.filter(account_id=case.account_id).exclude(email="").exists()
    ):
        return "The account has no contact with an email address to write to. Add one, or skip with a reason."
    if step.kind in (StepKind.ANNOUNCE_SLACK, StepKind.SEND_ACKNOWLEDGMENT):
        marked = case.steps.filter(kind=StepKind.MARK_CHURNED, status__in=FINISHED_STEP_STATUSES).exists()
        if not marked:
            return "Waits for the account to be marked churned (step 1)."
    return ""


def _claim(step: ChurnStep, tenant: Tenant) -> bool:
    """pending or failed (or a stale running) → running, in one conditional UPDATE: only one caller wins."""
    now = timezone.now()
    claimable = Q(status__in=(StepStatus.PENDING, StepStatus.FAILED)) | Q(
        status=StepStatus.RUNNING, started_at__lt=now - STALE_RUNNING_AFTER
    )
    from django.db.models import F

    return bool(
        ChurnStep.objects.filter(claimable, pk=step.pk).update(
            status=StepStatus.RUNNING,
            started_at=now,
            attempts=F("attempts") + 1,
            done_by=tenant.member,
            done_by_label=tenant.actor_label,
        )
    )


def churn_step_run(*, tenant: Tenant, step: ChurnStep) -> ChurnStep:
    """Runs one step if it is pending or failed and its inputs are ready; otherwise changes nothing.

    Not one transaction: the claim is committed before the side effect, so a second caller sees "running" while
    Stripe or Slack is being called, and the outcome is written after.
    """
    step = ChurnStep.objects.select_related("case", "case__account").get(pk=step.pk)
    if step.is_finished or (step.status == StepStatus.RUNNING and not _stale(step)):
        return step
    waiting = churn_step_readiness(step=step)
    if waiting:
        if step.status == StepStatus.FAILED:
            return step
        raise ApplicationError(waiting)
    if not _claim(step, tenant):
        step.refresh_from_db()
        return step
    step.refresh_from_db()
    runner = STEP_RUNNERS[step.kind]
    try:
        # Not inside one transaction with the outcome: what a step did here (deals closed) stays done even when the
        # other system then refuses, and running the step again continues from there.
        result, text = runner(tenant, step.case)
        with transaction.atomic():
            ChurnStep.objects.filter(pk=step.pk).update(
                status=StepStatus.DONE, result=result, result_text=text[:500], error="", finished_at=timezone.now()
            )
            step.refresh_from_db()
            audit_record(
                tenant=tenant,
                action=f"churn.step_done.{step.kind}",
                obj=step.case,
                changes={"step": [None, step.get_kind_display()], "result": [None, text[:200]]},
                account_id=step.case.account_id,
            )
    except Exception as exc:
        message = exc.message if isinstance(exc, StepFailedError | ApplicationError) else _describe(exc)
        result = exc.result if isinstance(exc, StepFailedError) else {}
        ChurnStep.objects.filter(pk=step.pk).update(
            status=StepStatus.FAILED, error=message[:2000], result=result, finished_at=timezone.now()
        )
        step.refresh_from_db()
        audit_record(
            tenant=tenant,
            action=f"churn.step_failed.{step.kind}",
            obj=step.case,
            changes={"step": [None, step.get_kind_display()], "error": [None, message[:200]]},
            account_id=step.case.account_id,
        )
        if not isinstance(exc, StepFailedError | ApplicationError | ValidationError):
            logger.warning("Churn step %s of case %s failed: %s", step.kind, step.case_id, exc.__class__.__name__)
        return step
    _close_if_finished(tenant, step.case)
    return step


def _stale(step: ChurnStep) -> bool:
    return step.started_at is not None and step.started_at < timezone.now() - STALE_RUNNING_AFTER


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return f"{exc.__class__.__name__}: {exc}"[:500]


@transaction.atomic
def churn_step_skip(*, tenant: Tenant, step: ChurnStep, reason: str) -> ChurnStep:
    """A step that does not apply (no Stripe subscription: invoiced by bank transfer) is skipped, saying why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"skip_reason": ["Say why this step is skipped; the case keeps the reason."]})
    skipped = ChurnStep.objects.filter(pk=step.pk, status__in=(StepStatus.PENDING, StepStatus.FAILED)).update(
        status=StepStatus.SKIPPED,
        skip_reason=reason[:300],
        done_by=tenant.member,
        done_by_label=tenant.actor_label,
        finished_at=timezone.now(),
    )
    step.refresh_from_db()
    if not skipped:
        if step.status == StepStatus.RUNNING:
            raise ApplicationError("This step is running right now; wait for its result.")
        return step
    audit_record(
        tenant=tenant,
        action=f"churn.step_skipped.{step.kind}",
        obj=step.case,
        changes={"step": [None, step.get_kind_display()], "reason": [None, reason]},
        account_id=step.case.account_id,
    )
    _close_if_finished(tenant, step.case)
    return step


def churn_case_advance(*, tenant: Tenant, case: ChurnCase) -> list[ChurnStep]:
    """Runs, in order, every pending step whose inputs are ready, until none is left that can run (the email
    waits for step 1, so it runs in the second round). Failed steps wait for a retry or a person's "Run again"."""
    ran: list[ChurnStep] = []
    while True:
        ready = [
            step
            for step in ChurnStep.objects.filter(case=case, status=StepStatus.PENDING).select_related("case")
            if not churn_step_readiness(step=step)
        ]
        if not ready:
            return ran
        for step in ready:
            ran.append(churn_step_run(tenant=tenant, step=step))


# --- What each step does ---------------------------------------------------------------------------------------


def _reason_text(case: ChurnCase) -> str:
    labels = churn_settings_get(organization=case.organization).reason_labels
    parts = []
    for code in (case.primary_reason, case.secondary_reason):
        if not code:
            continue
        label = labels.get(code, code)
        if code == OTHER_REASON and case.reason_other:
            label = f"{label}: {case.reason_other}"
        parts.append(label)
    return "; ".join(parts)


def _case_url(case: ChurnCase) -> str:
    return settings.SITE_URL + reverse("churn_case_detail", kwargs={"org_slug": case.organization.slug, "pk": case.pk})


def learning_url(case: ChurnCase) -> str:
    return settings.SITE_URL + reverse("churn_learning_form", kwargs={"token": case.learning_token})


def _run_mark_churned(tenant: Tenant, case: ChurnCase) -> tuple[dict[str, Any], str]:
    """Step 1, "Update Contracted Customer Tracker": the account is churned (it moves to the Churned list), with
    the date and the ARR it takes with it, into the revenue ledger. An account Stripe still bills gets its ledger
    movement from Stripe (when step 2 cancels, or the period ends), so the churn is counted once."""
    from revenue.services import revenue_churn_record

    account = Account.objects.get(pk=case.account_id)
    before = account.status
    if account.status != AccountStatus.CHURNED:
        account_update(tenant=tenant, account=account, status=AccountStatus.CHURNED)
    churned_at = timezone.make_aware(datetime.combine(case.churn_date, time.min))
    movement = revenue_churn_record(
        tenant=tenant, account=account, churned_at=churned_at, reason=f"churn case {case.pk}"
    )
    result = {
        "account_status": [before, AccountStatus.CHURNED],
        "churn_date": case.churn_date.isoformat(),
        "arr_lost": str(case.arr_lost),
        "currency": case.currency,
        "cohort": case.cohort,
        "ledger": (
            {"movement": movement.pk, "mrr_before": str(movement.mrr_before)}
            if movement
            else "left to Stripe (it still bills the account) or nothing to record"
        ),
    }
    text = f"{account.name} is churned as of {case.churn_date:%d %b %Y}; ARR lost {case.arr_lost} {case.currency}."
    if movement:
        text += f" The revenue ledger records the churn of {movement.mrr_before} MRR."
    return result, text


def _run_cancel_stripe(tenant: Tenant, case: ChurnCase) -> tuple[dict[str, Any], str]:
    """Step 2: cancel so that no further invoice is sent, through the revenue app's action (its idempotency key
    names the subscription and the choice, so Stripe cancels once however often this runs)."""
    from revenue.models import StripeActionStatus
    from revenue.services import subscription_cancel

    at_period_end = case.cancel_mode == CancelMode.PERIOD_END
    answers, failures = [], []
    for subscription in _open_subscriptions(case):
        if subscription.status in ("canceled", "incomplete_expired"):
            answers.append({"subscription": subscription.stripe_id, "status": subscription.status, "already": True})
            continue
        if at_period_end and subscription.cancel_at_period_end:
            answers.append({"subscription": subscription.stripe_id, "cancel_at_period_end": True, "already": True})
            continue
        action = subscription_cancel(tenant=tenant, subscription=subscription, at_period_end=at_period_end)
        answer = {
            "subscription": subscription.stripe_id,
            "idempotency_key": action.idempotency_key,
            "action_status": action.status,
            "stripe_status": action.response.get("status"),
            "cancel_at_period_end": action.response.get("cancel_at_period_end"),
            "canceled_at": action.response.get("canceled_at"),
            "error": action.error,
        }
        answers.append(answer)
        if action.status != StripeActionStatus.SUCCEEDED:
            failures.append(f"{subscription.stripe_id}: {action.error or 'Stripe refused the cancellation.'}")
    if failures:
        raise StepFailedError("Stripe did not cancel " + "; ".join(failures), {"subscriptions": answers})
    how = "at the end of the paid period" if at_period_end else "now"
    ids = ", ".join(a["subscription"] for a in answers)
    return {"subscriptions": answers, "mode": case.cancel_mode}, f"Stripe canceled {ids} ({how})."


def _lost_reason_for(tenant: Tenant, case: ChurnCase) -> str:
    """A lost deal needs a reason from the organization's list (seed 002): the matching one, else "Customer
    churned", added to the list the first time it is needed."""
    from lifecycle.services import pipeline_settings_get, pipeline_settings_update

    lost_reasons = pipeline_settings_get(organization=tenant.organization).lost_reasons
    wanted = LOST_REASON_FOR_CHURN_REASON.get(case.primary_reason)
    if wanted and wanted in lost_reasons:
        return wanted
    if CHURN_LOST_REASON not in lost_reasons:
        pipeline_settings_update(tenant=tenant, lost_reasons=[*lost_reasons, CHURN_LOST_REASON])
    return CHURN_LOST_REASON


def _run_close_deals(tenant: Tenant, case: ChurnCase) -> tuple[dict[str, Any], str]:
    """Step 3, "Close Opportunities in Hubspot": the account's open growth (expansion) and renewal deals become
    Closed Lost here, with the churn reason, and HubSpot's write-back pushes them."""
    from lifecycle.models import OPEN_DEAL_STAGES, Deal, DealStage, DealType
    from lifecycle.services import deal_move

    deals = list(
        Deal.objects.filter(
            account_id=case.account_id,
            type__in=(DealType.EXPANSION, DealType.RENEWAL),
            stage__in=OPEN_DEAL_STAGES,
        ).order_by("id")
    )
    lost_reason = _lost_reason_for(tenant, case) if deals else ""
    closed = []
    for deal in deals:
        deal_move(tenant=tenant, deal=deal, to_stage=DealStage.CLOSED_LOST, lost_reason=lost_reason)
        closed.append({"id": deal.pk, "name": deal.name, "hubspot_deal_id": deal.hubspot_deal_id})
    # Deals closed on an earlier attempt whose push to HubSpot failed are pushed again below.
    previously = list(
        Deal.objects.filter(
            account_id=case.account_id, stage=DealStage.CLOSED_LOST, type__in=(DealType.EXPANSION, DealType.RENEWAL)
        )
        .exclude(pk__in=[d["id"] for d in closed])
        .exclude(hubspot_deal_id="")
        .values_list("hubspot_deal_id", flat=True)
    )
    result: dict[str, Any] = {"closed": closed, "lost_reason": lost_reason, "churn_reasons": _reason_text(case)}
    in_hubspot = [d["hubspot_deal_id"] for d in closed if d["hubspot_deal_id"]] + previously
    result["hubspot"] = _hubspot_push(tenant.organization) if in_hubspot else {"skipped": "no deal is in HubSpot"}
    hubspot = result["hubspot"]
    if hubspot.get("error") or hubspot.get("push_failed"):
        # The deals stay closed here; running the step again pushes what HubSpot has not taken.
        raise StepFailedError(
            f"Closed {len(closed)} deal(s) here, but HubSpot did not take them: "
            f"{hubspot.get('error') or str(hubspot['push_failed']) + ' refused'}. Run the step again to retry.",
            result,
        )
    text = f"Closed {len(closed)} deal(s) as Closed Lost ({lost_reason or 'none open'})"
    if "pushed_deals" in hubspot:
        # The write-back pushes deals it has a link for (the HubSpot import makes them), and only once each.
        text += f"; HubSpot updated {hubspot['pushed_deals']} deal(s)"
        text += f" of {len(in_hubspot)} with a HubSpot id." if hubspot["pushed_deals"] < len(in_hubspot) else "."
    else:
        text += f"; HubSpot: {hubspot.get('skipped')}."
    return result, text


def _hubspot_push(organization: Organization) -> dict[str, Any]:
    """HubSpot's write-back (integrations.hubspot.writeback) pushes the deals closed here; its counts are the answer."""
    from integrations.hubspot.client import hubspot_client
    from integrations.hubspot.writeback import writeback_push
    from integrations.models import Source
    from integrations.services import connection_get

    connection = connection_get(organization=organization, source=Source.HUBSPOT)
    if connection is None or not connection.enabled or not connection.api_key_sealed:
        return {"skipped": "HubSpot is not connected; the deals are closed here only"}
    try:
        client = hubspot_client(connection, max_attempts=3)
        return dict(writeback_push(organization=organization, client=client))
    except Exception as exc:
        return {"error": _describe(exc)}


def _run_announce_slack(tenant: Tenant, case: ChurnCase) -> tuple[dict[str, Any], str]:
    """Step 4, "Announce Churn in Slack": the reasons, and an invitation to ask and to learn (seed 000)."""
    from tickets.slack import slack_post

    webhook_url = churn_settings_get(organization=case.organization).sales_slack_webhook_url
    account = case.account
    lines = [
        f":wave: *{account.name}* will not renew ({Cohort(case.cohort).label}, "
        f"ARR {case.arr_lost:,.0f} {case.currency}, leaving {case.churn_date:%d %b %Y}).",
        f"*Why:* {_reason_text(case)}",
    ]
    if case.summary:
        lines.append(f"*Summary:* {case.summary}")
    lines.append(f"Questions, or ideas on what we can learn from this? Reply in the thread. {_case_url(case)}")
    text = "\n".join(lines)
    if not slack_post(webhook_url=webhook_url, text=text, timeout=10.0):
        raise StepFailedError("Slack did not accept the message (the webhook answered with an error or not at all).")
    return {"text": text, "accepted": True}, "Posted in the sales channel."


def _run_send_acknowledgment(tenant: Tenant, case: ChurnCase) -> tuple[dict[str, Any], str]:
    """Step 5: an acknowledgment to the customer's contacts with the learning questions, answered through a link."""
    churn_settings = churn_settings_get(organization=case.organization)
    recipients = list(
        Contact.objects.filter(account_id=case.account_id)
        .exclude(email="")
        .order_by("id")
        .values_list("email", flat=True)
    )
    organization = case.organization
    questions = "\n".join(f"  {n}. {q}" for n, q in enumerate(churn_settings.learning_questions, start=1))
    body = (
        f"Hello,\n\n{churn_settings.acknowledgment_intro}\n\n"
        f"We confirm that your subscription ends on {case.churn_date:%d %B %Y}.\n\n"
        f"Would you answer a few short questions? They help us improve:\n{questions}\n\n"
        f"Answer here (two minutes): {learning_url(case)}\n\n"
        f"Thank you,\n{organization.name}"
    )
    subject = f"Thank you, and a few questions from {organization.name}"
    message_id = f"<churn-{case.pk}-{organization.pk}@{settings.SITE_URL.split('//')[-1].split('/')[0]}>"
    email = EmailMessage(subject=subject, body=body, to=recipients, headers={"Message-ID": message_id})
    try:
        email.send(fail_silently=False)
    except Exception as exc:
        raise StepFailedError(f"The email could not be sent: {_describe(exc)}") from exc
    return (
        {
            "to": recipients,
            "subject": subject,
            "message_id": message_id,
            "questions": churn_settings.learning_questions,
        },
        f"Sent to {', '.join(recipients)}.",
    )


STEP_RUNNERS = {
    StepKind.MARK_CHURNED: _run_mark_churned,
    StepKind.CANCEL_STRIPE: _run_cancel_stripe,
    StepKind.CLOSE_DEALS: _run_close_deals,
    StepKind.ANNOUNCE_SLACK: _run_announce_slack,
    StepKind.SEND_ACKNOWLEDGMENT: _run_send_acknowledgment,
}


# --- The customer's answers ------------------------------------------------------------------------------------


def churn_case_for_token(*, token: str) -> ChurnCase | None:
    """The case behind a learning link, or None (a wrong or guessed token is a 404, whatever it is)."""
    if not token or len(token) > 64:
        return None
    with platform_scope():
        case = ChurnCase.objects.select_related("organization", "account").filter(learning_token=token).first()
    if case is None or not secrets.compare_digest(case.learning_token, token):
        return None
    return case


def churn_learning_answers_save(*, case: ChurnCase, answers: list[str]) -> ChurnCase:
    """The customer's answers, stored on the case beside the questions they answered (the settings may change)."""
    with tenant_scope(case.organization):
        questions = churn_settings_get(organization=case.organization).learning_questions
        pairs = [
            {"question": question, "answer": (answer or "").strip()[:4000]}
            for question, answer in zip(questions, answers, strict=False)
        ]
        if not any(pair["answer"] for pair in pairs):
            raise ValidationError({"answers": ["Answer at least one question, even briefly."]})
        previous = bool(case.learning_answers)
        case.learning_answers = pairs
        case.learning_answered_at = timezone.now()
        case.save(update_fields=["learning_answers", "learning_answered_at", "updated_at"])
        # The customer answers through a link: no member acts, the entry reads "System".
        audit_record(
            tenant=system_tenant(case.organization),
            action="churn.learning_answered",
            obj=case,
            changes={"answers": ["answered" if previous else None, f"{sum(1 for p in pairs if p['answer'])} answers"]},
            account_id=case.account_id,
        )
    return case
