"""Demo churn for seed_demo: a year of closed cases for the analytics, one case mid-way (Stripe refused, the sales
channel not set up yet), and one Stripe suggested."""

import secrets
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import AccountStatus
from accounts.services import account_update
from churn.models import (
    STEP_ORDER,
    CancelMode,
    ChurnCase,
    ChurnCaseStatus,
    ChurnStep,
    StepKind,
    StepStatus,
)
from churn.services import churn_settings_get
from core.models import Role
from core.tenancy import Tenant

SUMMARIES = {
    "price": "Renewal quote came in above their budget line; they moved to the open-source edition.",
    "missing_feature": "Needed SSO with Azure AD for the plant network; it is on our roadmap for Q3.",
    "champion_left": "Our champion (head of automation) left in spring; the new lead prefers their in-house tool.",
    "moved_to_competitor": "Chose a competitor bundled with their PLC vendor's licence.",
    "budget_cut": "Corporate froze all new software spend for the year.",
    "no_longer_needed": "The pilot line was shut down.",
    "product_quality": "Two outages in Q1 on their instance; confidence never came back.",
    "acquired": "Acquired by a group that standardises on another platform.",
}
ANSWERS = [
    "Price, mostly: the premium tier doubled our cost for features we did not use.",
    "A smaller plan for a single site would have kept us.",
    "SSO, and a cheaper tier for a single team.",
    "Yes, if the single-site plan happens.",
]


def seed_churn(*, organization, members, rng) -> None:
    tenant = Tenant(organization=organization, role=Role.AE, user=members[Role.AE])
    churn_settings_get(organization=organization)
    from accounts.models import Account

    candidates = list(
        Account.objects.filter(status=AccountStatus.ACTIVE, cohort__in=("starter", "premium", "enterprise"))
        .exclude(arr=0)
        .order_by("id")
    )
    if len(candidates) < 12:
        return
    picked = rng.sample(candidates, 12)
    today = timezone.localdate()
    now = timezone.now()
    reasons = list(SUMMARIES)
    for index, account in enumerate(picked[:9]):
        # Closed cases spread over the last year, every step done (or Stripe skipped for an invoiced customer).
        churn_date = today - timedelta(days=25 + index * 37 + rng.randint(0, 10))
        reason = reasons[index % len(reasons)]
        case = _case(organization, tenant, account, churn_date, reason, status=ChurnCaseStatus.CLOSED)
        case.closed_at = timezone.make_aware(datetime.combine(churn_date, time.min))
        if index % 3 == 0:
            case.learning_answers = [
                {"question": q, "answer": a} for q, a in zip(case_questions(organization), ANSWERS, strict=False)
            ]
            case.learning_answered_at = case.closed_at + timedelta(days=3)
        case.save()
        for kind in STEP_ORDER:
            skipped = kind == StepKind.CANCEL_STRIPE and index % 4 == 1
            _step(
                case,
                kind,
                StepStatus.SKIPPED if skipped else StepStatus.DONE,
                at=case.closed_at,
                by=tenant.actor_label,
                skip_reason="Invoiced by bank transfer, no Stripe subscription" if skipped else "",
            )
        account_update(tenant=tenant, account=account, status=AccountStatus.CHURNED)
    # Mid-way: marked churned, deals closed, the email sent; Stripe refused; the sales channel is not set up yet.
    account = picked[9]
    case = _case(
        organization,
        tenant,
        account,
        today + timedelta(days=24),
        "missing_feature",
        status=ChurnCaseStatus.OPEN,
        secondary="price",
    )
    for kind in STEP_ORDER:
        if kind == StepKind.CANCEL_STRIPE:
            _step(
                case,
                kind,
                StepStatus.FAILED,
                at=now - timedelta(hours=3),
                by="System",
                attempts=3,
                error="Connect Stripe first (Settings → Integrations → Stripe).",
            )
        elif kind == StepKind.ANNOUNCE_SLACK:
            _step(case, kind, StepStatus.PENDING, at=None, by="")
        else:
            _step(case, kind, StepStatus.DONE, at=now - timedelta(hours=3), by="System")
    account_update(tenant=tenant, account=account, status=AccountStatus.CHURNED)
    # Suggested by the Stripe sync, waiting for the AE to confirm.
    account = picked[10]
    case = _case(organization, tenant, account, today + timedelta(days=40), "", status=ChurnCaseStatus.SUGGESTED)
    case.suggested_because = "Stripe reports the subscription set to cancel (sub_demo_1Pq8)."
    case.stripe_subscription_id = "sub_demo_1Pq8"
    case.opened_by, case.opened_by_label, case.opened_at = None, "", None
    case.save()
    for kind in STEP_ORDER:
        _step(case, kind, StepStatus.PENDING, at=None, by="")


def case_questions(organization) -> list[str]:
    return churn_settings_get(organization=organization).learning_questions


def _case(organization, tenant, account, churn_date, reason, *, status, secondary="") -> ChurnCase:
    return ChurnCase.objects.create(
        organization=organization,
        account=account,
        status=status,
        churn_date=churn_date,
        arr_lost=account.arr,
        currency=account.currency,
        cohort=account.cohort,
        primary_reason=reason,
        secondary_reason=secondary,
        summary=SUMMARIES.get(reason, ""),
        cancel_mode=CancelMode.PERIOD_END,
        opened_by=tenant.member,
        opened_by_label=tenant.actor_label,
        opened_at=timezone.now(),
        learning_token=secrets.token_urlsafe(32),
    )


def _step(case, kind, status, *, at, by, attempts=1, error="", skip_reason="") -> ChurnStep:
    texts = {
        StepKind.MARK_CHURNED: f"{case.account.name} is churned as of {case.churn_date:%d %b %Y}; ARR lost "
        f"{case.arr_lost} {case.currency}.",
        StepKind.CANCEL_STRIPE: "Stripe canceled the subscription (at the end of the paid period).",
        StepKind.CLOSE_DEALS: "Closed 1 deal(s) as Closed Lost (Customer churned); HubSpot updated 1 deal(s).",
        StepKind.ANNOUNCE_SLACK: "Posted in the sales channel.",
        StepKind.SEND_ACKNOWLEDGMENT: "Sent to the account's contacts.",
    }
    return ChurnStep.objects.create(
        organization_id=case.organization_id,
        case=case,
        kind=kind,
        position=STEP_ORDER.index(kind) + 1,
        status=status,
        attempts=attempts if status != StepStatus.PENDING else 0,
        result_text=texts[kind] if status == StepStatus.DONE else "",
        error=error,
        skip_reason=skip_reason,
        done_by_label=by,
        started_at=at,
        finished_at=at,
    )
