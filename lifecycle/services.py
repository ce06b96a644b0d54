"""Writes of the lifecycle app: stage moves, qualification, deals, the commit-to-handoff, tasks and settings.

Every refusal is a ValidationError keyed by the field the user must fix, so the form shows it beside
that field and the API answers 400 naming it.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Account, AccountStatus, Cohort, Contact, LeadStatus, LifecycleStage
from accounts.selectors import customer_success_member_users, organization_member_users
from core.models import Organization, Role
from core.notifications import notification_send
from core.permissions import Permission
from core.services import audit_record, field_changes, printable_value
from core.tenancy import Tenant
from lifecycle import rules
from lifecycle.models import (
    DEFAULT_LOST_REASONS,
    DEFAULT_ONBOARDING_STEPS,
    OPEN_DEAL_STAGES,
    ContactQualification,
    CsmAssignmentRule,
    Deal,
    DealStage,
    DealType,
    LifecycleStageChange,
    OnboardingPlan,
    OnboardingStepTemplate,
    PipelineSettings,
    Task,
)

# Seed 002, "Unresponsive": "We have not received a reply in 2 weeks".
UNRESPONSIVE_AFTER = timedelta(days=14)


# --- Settings --------------------------------------------------------------------------------------------------


def pipeline_settings_get(*, organization: Organization) -> PipelineSettings:
    """The organization's settings, created with seed 002's defaults (and the default onboarding steps) on first use."""
    pipeline_settings = PipelineSettings.objects.filter(organization=organization).first()
    if pipeline_settings is not None:
        return pipeline_settings
    with transaction.atomic():
        pipeline_settings, created = PipelineSettings.objects.get_or_create(
            organization=organization,
            defaults={"lost_reasons": list(DEFAULT_LOST_REASONS)},
        )
        if created and not OnboardingStepTemplate.objects.exists():
            OnboardingStepTemplate.objects.bulk_create(
                OnboardingStepTemplate(
                    organization=organization,
                    position=position,
                    title=title,
                    description=description,
                    assignee_role=role,
                    due_days=days,
                )
                for position, (title, description, role, days) in enumerate(DEFAULT_ONBOARDING_STEPS)
            )
    return pipeline_settings


PIPELINE_SETTING_FIELDS = (
    "probability_opportunity", "probability_poc_started", "probability_value_validated", "probability_contract_sent",
    "lost_reasons", "evangelist_enabled", "csm_assignment_rule", "cohort_csms", "product_name",
)  # fmt: skip


@transaction.atomic
def pipeline_settings_update(*, tenant: Tenant, **values: Any) -> PipelineSettings:
    pipeline_settings = pipeline_settings_get(organization=tenant.organization)
    values = {key: value for key, value in values.items() if key in PIPELINE_SETTING_FIELDS}
    errors: dict[str, list[str]] = {}
    if "lost_reasons" in values:
        reasons = [reason.strip() for reason in values["lost_reasons"] if reason and reason.strip()]
        if not reasons:
            errors["lost_reasons"] = ["Keep at least one reason: a lost deal must be able to say why."]
        values["lost_reasons"] = list(dict.fromkeys(reasons))
    if "cohort_csms" in values:
        csm_ids = set(customer_success_member_users(organization=tenant.organization).values_list("pk", flat=True))
        cleaned = {}
        for cohort, user_id in (values["cohort_csms"] or {}).items():
            if cohort not in Cohort.values:
                errors["cohort_csms"] = [f"'{cohort}' is not a cohort."]
            elif user_id:
                if int(user_id) not in csm_ids:
                    errors["cohort_csms"] = [f"The CSM chosen for {Cohort(cohort).label} is not a CSM here."]
                cleaned[cohort] = int(user_id)
        values["cohort_csms"] = cleaned
    for stage in ("opportunity", "poc_started", "value_validated", "contract_sent"):
        key = f"probability_{stage}"
        if key in values and not 0 <= int(values[key]) <= 100:
            errors[key] = ["A percentage from 0 to 100."]
    if errors:
        raise ValidationError(errors)
    changes = field_changes(pipeline_settings, values, PIPELINE_SETTING_FIELDS)
    for key, value in values.items():
        setattr(pipeline_settings, key, value)
    pipeline_settings.save()
    if changes:
        audit_record(tenant=tenant, action="pipeline_settings.updated", obj=pipeline_settings, changes=changes)
    return pipeline_settings


@transaction.atomic
def onboarding_step_save(
    *, tenant: Tenant, step: OnboardingStepTemplate | None, title: str, description: str, assignee_role: str,
    due_days: int, position: int | None = None,
) -> OnboardingStepTemplate:  # fmt: skip
    if not title.strip():
        raise ValidationError({"title": ["Give the step a title."]})
    if step is None:
        last = OnboardingStepTemplate.objects.order_by("-position").values_list("position", flat=True).first()
        step = OnboardingStepTemplate(organization=tenant.organization, position=(last or 0) + 1)
    step.title, step.description = title.strip(), description.strip()
    step.assignee_role, step.due_days = assignee_role, due_days
    if position is not None:
        step.position = position
    step.full_clean(exclude=["organization"])
    step.save()
    audit_record(tenant=tenant, action="onboarding_template.saved", obj=step)
    return step


def onboarding_step_delete(*, tenant: Tenant, step: OnboardingStepTemplate) -> None:
    audit_record(tenant=tenant, action="onboarding_template.deleted", obj=step)
    step.delete()


# --- Lifecycle stages ------------------------------------------------------------------------------------------


def _stage_facts(tenant: Tenant, contact: Contact, pipeline_settings: PipelineSettings) -> rules.StageFacts:
    qualification = ContactQualification.objects.filter(contact=contact).first() or ContactQualification()
    account = contact.account
    return rules.StageFacts(
        may_set_pql=tenant.can(Permission.STAGE_SET_PQL),
        evangelist_enabled=pipeline_settings.evangelist_enabled,
        missing_qualifying_answers=tuple(qualification.missing(ContactQualification.QUALIFYING_FIELDS)),
        missing_three_ws=tuple(qualification.missing(ContactQualification.THREE_WS)),
        has_account=account is not None,
        has_open_deal=account is not None and Deal.objects.filter(account=account, stage__in=OPEN_DEAL_STAGES).exists(),
        account_is_paying=account is not None and account_is_paying(account=account),
        account_name=account.name if account else "",
    )


def account_is_paying(*, account: Account) -> bool:
    """Seed 002: "Customer: an active, paying user". Seed 000: the Trial cohort is "not paying for services"."""
    return account.status == AccountStatus.ACTIVE and account.cohort != Cohort.TRIAL


def stage_change_record(
    *, tenant: Tenant, contact: Contact, from_stage: str, reason: str = "", is_correction: bool = False
) -> LifecycleStageChange:
    """The dated history row of a stage change (or of the stage a contact was created at, from_stage="")."""
    owner_id = contact.owner_id
    if owner_id is None and contact.account_id:
        owner_id = Account.objects.filter(pk=contact.account_id).values_list("ae_owner_id", flat=True).first()
    return LifecycleStageChange.objects.create(
        organization=tenant.organization,
        contact=contact,
        account_id=contact.account_id,
        from_stage=from_stage,
        to_stage=contact.lifecycle_stage,
        owner_id=owner_id,
        changed_by=tenant.member,
        changed_by_label=tenant.actor_label,
        reason=reason,
        is_correction=is_correction,
        changed_at=timezone.now(),
    )


def contact_stage_initial_refusal(*, tenant: Tenant, stage: str) -> str | None:
    """A new contact may start at any stage (imports bring their history), except an Evangelist nobody uses."""
    if (
        stage == LifecycleStage.EVANGELIST
        and not pipeline_settings_get(organization=tenant.organization).evangelist_enabled
    ):
        return "The Evangelist stage is not used in this organization; an admin can turn it on in Pipeline settings."
    return None


@transaction.atomic
def contact_stage_change(*, tenant: Tenant, contact: Contact, to_stage: str, reason: str = "") -> Contact:
    """Moves a contact's lifecycle stage by the rules of seed 002.

    Forward moves go one stage at a time, with the answers each gate needs; Other is open from anywhere.
    A backward move (or out of Other) is a correction: an admin makes it, and must say why.
    """
    from_stage = contact.lifecycle_stage
    if to_stage == from_stage:
        return contact
    if to_stage not in LifecycleStage.values:
        raise ValidationError({"lifecycle_stage": [f"'{to_stage}' is not a lifecycle stage."]})
    pipeline_settings = pipeline_settings_get(organization=tenant.organization)
    reason = (reason or "").strip()
    is_correction = rules.is_backward(from_stage, to_stage)
    if to_stage == LifecycleStage.PRODUCT_QUALIFIED_LEAD and from_stage in rules.NOT_PQL_CANDIDATES:
        # Not even as a correction: seed 002 rules these contacts out as PQL candidates.
        raise ValidationError({"lifecycle_stage": [rules.stage_move_refusal(from_stage, to_stage, rules.StageFacts())]})
    if is_correction:
        if not tenant.can(Permission.STAGE_CORRECT):
            raise ValidationError(
                {"lifecycle_stage": [rules.stage_move_refusal(from_stage, to_stage, rules.StageFacts())]}
            )
        if not reason:
            raise ValidationError(
                {"stage_change_reason": ["Moving a stage backwards is a correction: say why it was wrong."]}
            )
        if to_stage == LifecycleStage.EVANGELIST and not pipeline_settings.evangelist_enabled:
            raise ValidationError({"lifecycle_stage": [contact_stage_initial_refusal(tenant=tenant, stage=to_stage)]})
    else:
        refusal = rules.stage_move_refusal(from_stage, to_stage, _stage_facts(tenant, contact, pipeline_settings))
        if refusal:
            raise ValidationError({"lifecycle_stage": [refusal]})
    contact.lifecycle_stage = to_stage
    update_fields = ["lifecycle_stage", "updated_at"]
    # Seed 002, lead status "Open Deal": "When a deal is on the board, and the opportunity is real".
    if to_stage == LifecycleStage.OPPORTUNITY and contact.lead_status != LeadStatus.OPEN_DEAL:
        contact.lead_status = LeadStatus.OPEN_DEAL
        update_fields.append("lead_status")
    contact.save(update_fields=update_fields)
    stage_change_record(
        tenant=tenant, contact=contact, from_stage=from_stage, reason=reason, is_correction=is_correction
    )
    audit_record(
        tenant=tenant,
        action="contact.stage_corrected" if is_correction else "contact.stage_changed",
        obj=contact,
        changes={"lifecycle_stage": [from_stage, to_stage], **({"reason": [None, reason]} if reason else {})},
        account_id=contact.account_id,
    )
    return contact


QUALIFICATION_FIELDS = ContactQualification.QUALIFYING_FIELDS + ContactQualification.THREE_WS


@transaction.atomic
def qualification_save(*, tenant: Tenant, contact: Contact, **answers: str) -> ContactQualification:
    """Stores the qualifying answers and the three W's with the contact.

    Seed 002 wants the three W's "added as notes": when they change, they are written to the account's
    timeline as a note, so the whole team sees why this opportunity exists.
    """
    qualification, _ = ContactQualification.objects.get_or_create(organization=tenant.organization, contact=contact)
    answers = {key: (value or "").strip() for key, value in answers.items() if key in QUALIFICATION_FIELDS}
    changes = field_changes(qualification, answers, QUALIFICATION_FIELDS)
    if not changes:
        return qualification
    for key, value in answers.items():
        setattr(qualification, key, value)
    qualification.save()
    audit_record(tenant=tenant, action="contact.qualified", obj=contact, changes=changes, account_id=contact.account_id)
    three_ws_changed = any(key in changes for key in ContactQualification.THREE_WS)
    if three_ws_changed and contact.account_id and not qualification.missing(ContactQualification.THREE_WS):
        body = "\n".join(
            [f"The three W's for {contact}:"]
            + [f"{rules.THREE_WS_LABELS[key]} {getattr(qualification, key)}" for key in ContactQualification.THREE_WS]
        )
        account_services.note_add(tenant=tenant, account=contact.account, body=body)
    return qualification


@transaction.atomic
def contact_outreach_log(*, tenant: Tenant, contact: Contact) -> Contact:
    """Seed 002: "Attempted to contact: from the moment the AE reached out, until there's a reply"."""
    values: dict[str, Any] = {"last_outreach_at": timezone.now()}
    if contact.lead_status in ("", LeadStatus.NEW, LeadStatus.OPEN):
        values["lead_status"] = LeadStatus.ATTEMPTED_TO_CONTACT
    return account_services.contact_update(tenant=tenant, contact=contact, **values)


@transaction.atomic
def contact_reply_log(*, tenant: Tenant, contact: Contact) -> Contact:
    """Seed 002: "Connected: MQLs and SQLs that have replied and engaged"."""
    values: dict[str, Any] = {"last_reply_at": timezone.now()}
    if contact.lead_status in (LeadStatus.ATTEMPTED_TO_CONTACT, LeadStatus.UNRESPONSIVE):
        values["lead_status"] = LeadStatus.CONNECTED
    return account_services.contact_update(tenant=tenant, contact=contact, **values)


def unresponsive_suggested(*, contact: Contact, now=None) -> bool:
    """Two weeks since the last outreach with no reply since: suggest "Unresponsive" (the user decides)."""
    now = now or timezone.now()
    if contact.last_outreach_at is None or contact.lead_status in UNRESPONSIVE_NOT_SUGGESTED:
        return False
    if contact.lifecycle_stage not in LEAD_STATUS_STAGES:
        return False
    replied = contact.last_reply_at is not None and contact.last_reply_at >= contact.last_outreach_at
    return not replied and now - contact.last_outreach_at >= UNRESPONSIVE_AFTER


# Seed 002: "For leads who are MQLs or SQLs the Lead status field is used" (and the leads before them).
LEAD_STATUS_STAGES = (
    LifecycleStage.SUBSCRIBER,
    LifecycleStage.LEAD,
    LifecycleStage.MARKETING_QUALIFIED_LEAD,
    LifecycleStage.PRODUCT_QUALIFIED_LEAD,
    LifecycleStage.SALES_QUALIFIED_LEAD,
)
UNRESPONSIVE_NOT_SUGGESTED = (
    LeadStatus.UNRESPONSIVE,
    LeadStatus.UNQUALIFIED,
    LeadStatus.BAD_TIMING,
    LeadStatus.OPEN_DEAL,
)


# --- Deals -----------------------------------------------------------------------------------------------------

DEAL_FIELDS = (
    "name", "account", "owner", "amount", "currency", "type", "expected_close_date", "stage", "lost_reason",
    "committed", "hubspot_deal_id",
)  # fmt: skip


def deal_name_suggest(*, account: Account, deal_type: str, expected_close_date=None, product: str = "") -> str:
    """Seed 003's scheme, CustomerName_Product_Expansion_QuarterDue (e.g. ABCTestCompany_Premium_Expansion_Q12027)."""
    customer = "".join(part for part in account.name.title().split() if part.isalnum() or part.isalpha())
    customer = "".join(ch for ch in customer if ch.isalnum()) or "Customer"
    # Seed 003's product part names the product and the plan ("FleetPremium"): ours is the product, then the cohort.
    product = "".join(ch for ch in (product or "") if ch.isalnum()) + Cohort(account.cohort).label
    kind = {DealType.NEW: "New", DealType.EXPANSION: "Expansion", DealType.RENEWAL: "Renewal"}[DealType(deal_type)]
    day = expected_close_date or timezone.localdate()
    return f"{customer}_{product}_{kind}_Q{(day.month - 1) // 3 + 1}{day.year}"


def _validate_deal(tenant: Tenant, deal: Deal) -> None:
    errors: dict[str, list[str]] = {}
    if (
        deal.owner_id is not None
        and not organization_member_users(organization=tenant.organization).filter(pk=deal.owner_id).exists()
    ):
        errors["owner"] = ["Choose a member of this organization."]
    if deal.account_id is None or not Account.objects.filter(pk=deal.account_id).exists():
        errors["account"] = ["No such account in this organization."]
    try:
        deal.full_clean(exclude=["organization", "account", "owner"], validate_constraints=False)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _normalise_deal_values(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("currency"):
        values["currency"] = values["currency"].strip().upper()
    if isinstance(values.get("name"), str):
        values["name"] = values["name"].strip()
    if isinstance(values.get("lost_reason"), str):
        values["lost_reason"] = values["lost_reason"].strip()
    return values


@transaction.atomic
def deal_create(*, tenant: Tenant, account: Account, **values: Any) -> Deal:
    """Opens a deal on an account. A name left out follows seed 003's scheme; the currency is the account's."""
    values = _normalise_deal_values({key: value for key, value in values.items() if key in DEAL_FIELDS})
    stage = values.pop("stage", None) or DealStage.OPPORTUNITY
    committed = values.pop("committed", False)
    lost_reason = values.pop("lost_reason", "")
    values.setdefault("type", DealType.NEW)
    if not values.get("currency"):
        values["currency"] = account.currency
    if "owner" not in values:
        values["owner"] = account.ae_owner or (tenant.member if tenant.role == Role.AE else None)
    if not values.get("name"):
        pipeline_settings = pipeline_settings_get(organization=tenant.organization)
        values["name"] = deal_name_suggest(
            account=account,
            deal_type=values["type"],
            expected_close_date=values.get("expected_close_date"),
            product=pipeline_settings.product_name,
        )
    deal = Deal(organization=tenant.organization, account=account, stage=DealStage.OPPORTUNITY, **values)
    deal.stage_changed_at = timezone.now()
    _validate_deal(tenant, deal)
    deal.save()
    created = {key: [None, printable_value(getattr(deal, key))] for key in DEAL_FIELDS if getattr(deal, key, None)}
    audit_record(tenant=tenant, action="deal.created", obj=deal, changes=created, account_id=account.pk)
    if stage != DealStage.OPPORTUNITY:
        # Deals arrive at later stages from imports and from HubSpot: they land there directly, but a lost one
        # still needs its reason and a won one still completes the handoff.
        _deal_stage_apply(tenant, deal, to_stage=stage, lost_reason=lost_reason, check_rules=False)
    if committed:
        deal_commit(tenant=tenant, deal=deal)
    return deal


@transaction.atomic
def deal_update(*, tenant: Tenant, deal: Deal, **values: Any) -> Deal:
    """Edits a deal's fields; a stage change and a commitment go through their own rules in the same transaction."""
    values = _normalise_deal_values({key: value for key, value in values.items() if key in DEAL_FIELDS})
    stage = values.pop("stage", deal.stage)
    lost_reason = values.pop("lost_reason", deal.lost_reason)
    committed = values.pop("committed", deal.committed)
    if deal.committed and not committed:
        raise ValidationError(
            {"committed": ["A commitment is not taken back: the CSM's onboarding has started. Close the deal as lost."]}
        )
    changes = field_changes(deal, values, DEAL_FIELDS)
    if changes:
        for key, value in values.items():
            setattr(deal, key, value)
        _validate_deal(tenant, deal)
        deal.save()
        audit_record(tenant=tenant, action="deal.updated", obj=deal, changes=changes, account_id=deal.account_id)
    if committed and not deal.committed:
        deal_commit(tenant=tenant, deal=deal)
        deal.refresh_from_db()
    if stage != deal.stage or (stage == DealStage.CLOSED_LOST and lost_reason != deal.lost_reason):
        deal = deal_move(tenant=tenant, deal=deal, to_stage=stage, lost_reason=lost_reason)
    return deal


@transaction.atomic
def deal_move(*, tenant: Tenant, deal: Deal, to_stage: str, lost_reason: str = "") -> Deal:
    """Moves a deal on the board by seed 002's stages. Closed Lost needs a reason; Closed Won starts the handoff."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if to_stage not in DealStage.values:
        raise ValidationError({"stage": [f"'{to_stage}' is not a deal stage."]})
    return _deal_stage_apply(tenant, deal, to_stage=to_stage, lost_reason=(lost_reason or "").strip())


@transaction.atomic
def deal_stage_import(*, tenant: Tenant, deal: Deal, to_stage: str, lost_reason: str = "") -> Deal:
    """A stage a deal already has in the CRM it is synced from (HubSpot) lands here as it is.

    The board's move rules (no skipped stages, won only from Contract Sent) are for moves made here; a deal that
    HubSpot's AE moved from Opportunity to Value Validated *is* at Value Validated, and refusing it would leave the
    two systems apart. What still holds: a closed deal stays closed (seed 002), a lost one needs a reason from the
    organization's list, and Closed Won completes the handoff.
    """
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if to_stage not in DealStage.values:
        raise ValidationError({"stage": [f"'{to_stage}' is not a deal stage."]})
    if deal.stage in (DealStage.CLOSED_WON, DealStage.CLOSED_LOST) and to_stage != deal.stage:
        refusal = rules.deal_move_refusal(
            deal_type=deal.type, from_stage=deal.stage, to_stage=to_stage, lost_reason="", lost_reasons=[]
        )
        raise ValidationError(refusal)
    lost_reason = (lost_reason or "").strip()
    return _deal_stage_apply(tenant, deal, to_stage=to_stage, lost_reason=lost_reason, check_rules=False)


def _deal_stage_apply(tenant: Tenant, deal: Deal, *, to_stage: str, lost_reason: str, check_rules: bool = True) -> Deal:
    """check_rules=False: a deal created at a later stage lands there; only a lost deal's reason is still checked."""
    lost_reasons = pipeline_settings_get(organization=tenant.organization).lost_reasons
    from_stage = deal.stage
    reason_corrected = to_stage == from_stage == DealStage.CLOSED_LOST and lost_reason != deal.lost_reason
    if to_stage == from_stage and not reason_corrected:
        return deal
    if reason_corrected or not check_rules:
        refusal = (
            rules.lost_reason_refusal(lost_reason=lost_reason, lost_reasons=lost_reasons)
            if to_stage == DealStage.CLOSED_LOST
            else {}
        )
    else:
        refusal = rules.deal_move_refusal(
            deal_type=deal.type, from_stage=from_stage, to_stage=to_stage, lost_reason=lost_reason,
            lost_reasons=lost_reasons,
        )  # fmt: skip
    if refusal:
        raise ValidationError(refusal)
    now = timezone.now()
    deal.stage = to_stage
    deal.lost_reason = lost_reason if to_stage == DealStage.CLOSED_LOST else ""
    deal.stage_changed_at = now
    deal.closed_at = now if to_stage in (DealStage.CLOSED_WON, DealStage.CLOSED_LOST) else None
    deal.save(update_fields=["stage", "lost_reason", "stage_changed_at", "closed_at", "updated_at"])
    changes = {"stage": [from_stage, to_stage]}
    if deal.lost_reason:
        changes["lost_reason"] = [None, deal.lost_reason]
    audit_record(tenant=tenant, action="deal.stage_changed", obj=deal, changes=changes, account_id=deal.account_id)
    if to_stage == DealStage.CLOSED_WON:
        handoff_complete(tenant=tenant, deal=deal)
    elif to_stage == DealStage.CLOSED_LOST:
        _onboarding_cancel(tenant, deal)
    return deal


@transaction.atomic
def deal_delete(*, tenant: Tenant, deal: Deal) -> None:
    audit_record(tenant=tenant, action="deal.deleted", obj=deal, account_id=deal.account_id)
    deal.delete()


# --- Commit and handoff ----------------------------------------------------------------------------------------


def csm_choose(*, tenant: Tenant, account: Account) -> Any:
    """The account's CSM, else the organization's rule: by cohort, or round robin among the CSMs.

    The settings row is locked while the next CSM is picked, so two commits at once do not pick the same one.
    """
    if account.csm_owner_id:
        return account.csm_owner
    pipeline_settings = PipelineSettings.objects.select_for_update().get(
        pk=pipeline_settings_get(organization=tenant.organization).pk
    )
    csms = list(
        organization_member_users(organization=tenant.organization)
        .filter(memberships__role=Role.CSM, memberships__organization=tenant.organization)
        .order_by("pk")
    )
    if not csms:
        return None
    if pipeline_settings.csm_assignment_rule == CsmAssignmentRule.BY_COHORT:
        chosen_id = pipeline_settings.cohort_csms.get(account.cohort)
        chosen = next((user for user in csms if user.pk == chosen_id), None)
        if chosen is not None:
            return chosen
    last = pipeline_settings.last_assigned_csm_id or 0
    chosen = next((user for user in csms if user.pk > last), csms[0])
    pipeline_settings.last_assigned_csm_id = chosen.pk
    pipeline_settings.save(update_fields=["last_assigned_csm_id"])
    return chosen


@transaction.atomic
def deal_commit(*, tenant: Tenant, deal: Deal) -> OnboardingPlan:
    """Seed 000: "From the moment an AE commits to a deal onboarding starts for CSM".

    Assigns the CSM, tells them, and opens the onboarding plan from the organization's template. Committing
    twice changes nothing: the plan is one per deal.
    """
    deal = Deal.objects.select_for_update().select_related("account").get(pk=deal.pk)
    existing = OnboardingPlan.objects.filter(deal=deal).first()
    if deal.committed and existing is not None:
        return existing
    if deal.stage == DealStage.CLOSED_LOST:
        raise ValidationError({"committed": ["This deal is lost; there is nothing to commit to."]})
    account = deal.account
    pipeline_settings_get(organization=tenant.organization)  # makes sure the default onboarding template exists
    csm = csm_choose(tenant=tenant, account=account)
    if csm is None:
        raise ValidationError(
            {"committed": ["No CSM to hand over to: set the account's CSM or add a member with the CSM role."]}
        )
    if account.csm_owner_id != csm.pk:
        account_services.account_update(tenant=tenant, account=account, csm_owner=csm)
    now = timezone.now()
    deal.committed, deal.committed_at = True, now
    deal.save(update_fields=["committed", "committed_at", "updated_at"])
    plan = existing or OnboardingPlan.objects.create(
        organization=tenant.organization, account=account, deal=deal, csm=csm
    )
    today = timezone.localdate()
    Task.objects.bulk_create(
        Task(
            organization=tenant.organization,
            account=account,
            onboarding_plan=plan,
            title=step.title,
            description=step.description,
            assignee=csm if step.assignee_role == OnboardingStepTemplate.AssigneeRole.CSM else (deal.owner or csm),
            due_date=today + timedelta(days=step.due_days),
            position=step.position,
            created_by=tenant.member,
        )
        for step in OnboardingStepTemplate.objects.order_by("position", "id")
    )
    audit_record(
        tenant=tenant,
        action="deal.committed",
        obj=deal,
        changes={"committed": [False, True], "csm_owner": [None, printable_value(csm)]},
        account_id=account.pk,
    )
    notification_send(
        organization=tenant.organization,
        recipient=csm,
        text=f"{tenant.actor_label} committed {deal.name}: onboarding of {account.name} starts with you.",
        url=reverse("account_detail", kwargs={"org_slug": tenant.organization.slug, "pk": account.pk}),
    )
    return plan


def handoff_complete(*, tenant: Tenant, deal: Deal) -> None:
    """Closed Won: the CSM takes over the customer lifecycle (seed 000), the AE stays on the account.

    The account becomes an active, paying customer of its cohort (a Trial moves up to Starter) and its contacts
    become customers, as HubSpot does for the contacts of a won deal.
    """
    if not deal.committed:
        deal_commit(tenant=tenant, deal=deal)
    account = Account.objects.get(pk=deal.account_id)
    updates: dict[str, Any] = {"status": AccountStatus.ACTIVE}
    if account.cohort == Cohort.TRIAL:
        updates["cohort"] = Cohort.STARTER
    if account.ae_owner_id is None and deal.owner_id:
        updates["ae_owner"] = deal.owner
    account = account_services.account_update(tenant=tenant, account=account, **updates)
    audit_record(
        tenant=tenant,
        action="account.handoff_completed",
        obj=account,
        changes={"csm_owner": [None, printable_value(account.csm_owner)], "deal": [None, deal.name]},
        account_id=account.pk,
    )
    promoted = list(
        Contact.objects.filter(account=account)
        .exclude(lifecycle_stage__in=(LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST, LifecycleStage.OTHER))
        .only("pk", "lifecycle_stage", "owner_id", "account_id")
    )
    Contact.objects.filter(pk__in=[contact.pk for contact in promoted]).update(
        lifecycle_stage=LifecycleStage.CUSTOMER, updated_at=timezone.now()
    )
    now = timezone.now()
    LifecycleStageChange.objects.bulk_create(
        LifecycleStageChange(
            organization=tenant.organization,
            contact=contact,
            account_id=account.pk,
            from_stage=contact.lifecycle_stage,
            to_stage=LifecycleStage.CUSTOMER,
            owner_id=contact.owner_id or account.ae_owner_id,
            changed_by=tenant.member,
            changed_by_label=tenant.actor_label,
            reason=f"Deal {deal.name} won",
            changed_at=now,
        )
        for contact in promoted
    )
    if account.csm_owner_id:
        notification_send(
            organization=tenant.organization,
            recipient=account.csm_owner,
            text=f"{deal.name} is won: {account.name} is yours for the customer lifecycle.",
            url=reverse("account_detail", kwargs={"org_slug": tenant.organization.slug, "pk": account.pk}),
        )


def _onboarding_cancel(tenant: Tenant, deal: Deal) -> None:
    plan = OnboardingPlan.objects.filter(deal=deal, status=OnboardingPlan.Status.OPEN).first()
    if plan is None:
        return
    plan.status = OnboardingPlan.Status.CANCELLED
    plan.save(update_fields=["status"])
    plan.tasks.filter(status=Task.Status.OPEN).update(status=Task.Status.CANCELLED)
    audit_record(
        tenant=tenant, action="onboarding.cancelled", obj=plan, changes={"deal": [None, deal.name]},
        account_id=deal.account_id,
    )  # fmt: skip


# --- Tasks -----------------------------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *, tenant: Tenant, account: Account, title: str, assignee=None, due_date=None, description: str = ""
) -> Task:
    errors = {}
    if not (title or "").strip():
        errors["title"] = ["Say what needs doing."]
    if (
        assignee is not None
        and not organization_member_users(organization=tenant.organization).filter(pk=assignee.pk).exists()
    ):
        errors["assignee"] = ["Choose a member of this organization."]
    if errors:
        raise ValidationError(errors)
    task = Task.objects.create(
        organization=tenant.organization,
        account=account,
        title=title.strip(),
        description=(description or "").strip(),
        assignee=assignee or tenant.member,
        due_date=due_date,
        created_by=tenant.member,
    )
    audit_record(tenant=tenant, action="task.created", obj=task, account_id=account.pk)
    if task.assignee_id and task.assignee_id != getattr(tenant.user, "pk", None):
        notification_send(
            organization=tenant.organization,
            recipient=task.assignee,
            text=f"{tenant.actor_label} gave you a task for {account.name}: {task.title}",
            url=reverse("my_work", kwargs={"org_slug": tenant.organization.slug}),
        )
    return task


@transaction.atomic
def task_complete(*, tenant: Tenant, task: Task) -> Task:
    """Marks a task done; the last open step of an onboarding plan completes the plan."""
    claimed = Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(
        status=Task.Status.DONE, completed_at=timezone.now(), completed_by=tenant.member
    )
    task.refresh_from_db()
    if not claimed:
        return task
    audit_record(tenant=tenant, action="task.completed", obj=task, account_id=task.account_id)
    plan = task.onboarding_plan
    if (
        plan is not None
        and plan.status == OnboardingPlan.Status.OPEN
        and not plan.tasks.filter(status=Task.Status.OPEN).exists()
    ):
        plan.status, plan.completed_at = OnboardingPlan.Status.COMPLETED, timezone.now()
        plan.save(update_fields=["status", "completed_at"])
        audit_record(tenant=tenant, action="onboarding.completed", obj=plan, account_id=task.account_id)
    return task


@transaction.atomic
def task_reopen(*, tenant: Tenant, task: Task) -> Task:
    reopened = Task.objects.filter(pk=task.pk, status=Task.Status.DONE).update(
        status=Task.Status.OPEN, completed_at=None, completed_by=None
    )
    task.refresh_from_db()
    if reopened:
        audit_record(tenant=tenant, action="task.reopened", obj=task, account_id=task.account_id)
        plan = task.onboarding_plan
        if plan is not None and plan.status == OnboardingPlan.Status.COMPLETED:
            plan.status, plan.completed_at = OnboardingPlan.Status.OPEN, None
            plan.save(update_fields=["status", "completed_at"])
    return task


def weighted(amount: Decimal, probability: int) -> Decimal:
    return (amount * probability / Decimal(100)).quantize(Decimal("0.01"))
