"""Writes on accounts, contacts and notes. Each enforces its rules and records an audit entry."""

import random
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from accounts.codenames import MINOR_PLANET_NAMES
from accounts.models import Account, Cohort, CohortArrSnapshot, CohortChange, Contact, Note
from accounts.selectors import organization_member_users
from core.models import Organization
from core.services import audit_record, field_changes, printable_value
from core.tenancy import Tenant

ACCOUNT_FIELDS = (
    "name", "domain", "cohort", "currency", "arr", "mrr", "csm_owner", "ae_owner", "renewal_date", "codename",
    "qbr_nominated", "qbr_nomination_reason", "status", "stripe_customer_id", "hubspot_company_id",
)  # fmt: skip
CONTACT_FIELDS = (
    "first_name", "last_name", "email", "title", "account", "owner", "lifecycle_stage", "lead_status", "ffc_tier",
    "ffc_actions", "ffc_usage", "activation_outbound", "hubspot_contact_id", "last_outreach_at", "last_reply_at",
)  # fmt: skip


def codename_suggest(*, organization: Organization) -> str:
    """A minor-planet name not yet used in the organization (numbered once the plain names run out)."""
    candidates = random.sample(MINOR_PLANET_NAMES, 20)
    candidates += [f"{name} {random.randint(2, 9999)}" for name in random.sample(MINOR_PLANET_NAMES, 20)]
    taken = set(Account.objects.filter(codename__in=candidates).values_list("codename", flat=True))
    return next(name for name in candidates if name not in taken)


def _normalise_account_values(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("domain"):
        domain = values["domain"].strip().lower()
        for scheme in ("https://", "http://"):
            domain = domain.removeprefix(scheme)
        values["domain"] = domain.removeprefix("www.").rstrip("/")
    if values.get("currency"):
        values["currency"] = values["currency"].upper()
    return values


def _validate_account(tenant: Tenant, account: Account) -> None:
    errors: dict[str, list[str]] = {}
    members = None
    for field in ("csm_owner", "ae_owner"):
        owner_id = getattr(account, f"{field}_id")
        if owner_id is None:
            continue
        if members is None:
            members = set(organization_member_users(organization=tenant.organization).values_list("pk", flat=True))
        if owner_id not in members:
            errors[field] = ["Choose a member of this organization."]
    if account.qbr_nominated and not account.qbr_nomination_reason.strip():
        errors["qbr_nomination_reason"] = [
            "Say why this account is nominated for QBRs (for example, growth potential)."
        ]
    if account.codename and Account.objects.filter(codename=account.codename).exclude(pk=account.pk).exists():
        errors["codename"] = [f"The codename '{account.codename}' is already used by another account."]
    try:
        account.full_clean(exclude=["organization", "codename"], validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def account_create(*, tenant: Tenant, **values: Any) -> Account:
    values = _normalise_account_values(values)
    if not values.get("currency"):
        values["currency"] = tenant.organization.default_currency
    account = Account(organization=tenant.organization, **values)
    if not account.codename:
        account.codename = codename_suggest(organization=tenant.organization)
    if values.get("arr") is not None and "mrr" not in values:
        account.mrr = (Decimal(values["arr"]) / 12).quantize(Decimal("0.01"))
    _validate_account(tenant, account)
    account.save()
    created = {
        field: [None, printable_value(getattr(account, field))] for field in ACCOUNT_FIELDS if getattr(account, field)
    }
    audit_record(tenant=tenant, action="account.created", obj=account, changes=created, account_id=account.pk)
    _cohort_change_record(tenant, account, from_cohort="")
    return account


def _cohort_change_record(tenant: Tenant, account: Account, *, from_cohort: str) -> None:
    """Seed 000's goal is moving customers down the cohort table; each step is kept with its date."""
    CohortChange.objects.create(
        organization=tenant.organization,
        account=account,
        from_cohort=from_cohort,
        to_cohort=account.cohort,
        changed_at=timezone.now(),
        changed_by=tenant.member,
    )


@transaction.atomic
def account_update(*, tenant: Tenant, account: Account, **values: Any) -> Account:
    """Applies the given fields; fields not given keep their value. Records what changed."""
    values = _normalise_account_values({k: v for k, v in values.items() if k in ACCOUNT_FIELDS})
    changes = field_changes(account, values, ACCOUNT_FIELDS)
    if not changes:
        return account
    for field, value in values.items():
        setattr(account, field, value)
    _validate_account(tenant, account)
    account.save()
    audit_record(tenant=tenant, action="account.updated", obj=account, changes=changes, account_id=account.pk)
    if "cohort" in changes:
        _cohort_change_record(tenant, account, from_cohort=changes["cohort"][0])
    return account


@transaction.atomic
def account_delete(*, tenant: Tenant, account: Account) -> None:
    audit_record(tenant=tenant, action="account.deleted", obj=account, account_id=account.pk)
    account.delete()


def _normalise_contact_values(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("email"):
        values["email"] = values["email"].strip().lower()
    for field in ("first_name", "last_name", "title"):
        if isinstance(values.get(field), str):
            values[field] = values[field].strip()
    if isinstance(values.get("ffc_actions"), str):
        values["ffc_actions"] = [
            item.strip() for item in values["ffc_actions"].replace(";", ",").split(",") if item.strip()
        ]
    return values


def _validate_contact(tenant: Tenant, contact: Contact) -> None:
    errors: dict[str, list[str]] = {}
    try:
        contact.full_clean(exclude=["organization", "account"], validate_constraints=False)
    except ValidationError as exc:
        errors.update({field: list(messages) for field, messages in exc.message_dict.items()})
    if contact.account_id is not None and not Account.objects.filter(pk=contact.account_id).exists():
        # The scoped manager only sees this tenant's accounts, so a foreign id is "not found" here.
        errors["account"] = ["No such account in this organization."]
    if (
        contact.owner_id is not None
        and not organization_member_users(organization=tenant.organization).filter(pk=contact.owner_id).exists()
    ):
        errors["owner"] = ["Choose a member of this organization."]
    if "email" not in errors and Contact.objects.filter(email=contact.email).exclude(pk=contact.pk).exists():
        errors["email"] = [f"A contact with the email {contact.email} already exists."]
    if not isinstance(contact.ffc_actions, list) or not all(isinstance(a, str) for a in contact.ffc_actions):
        errors["ffc_actions"] = ["A list of action names."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def contact_create(*, tenant: Tenant, **values: Any) -> Contact:
    """Creates a contact at the stage it is given (imports bring their history); the stage is its first history row."""
    # The lifecycle app owns the stage rules and history (seed 002); it builds on accounts, so it is imported here.
    from lifecycle.services import contact_stage_initial_refusal, stage_change_record

    values = _normalise_contact_values(values)
    contact = Contact(organization=tenant.organization, **values)
    _validate_contact(tenant, contact)
    refusal = contact_stage_initial_refusal(tenant=tenant, stage=contact.lifecycle_stage)
    if refusal:
        raise ValidationError({"lifecycle_stage": [refusal]})
    contact.save()
    created = {
        field: [None, printable_value(getattr(contact, field))] for field in CONTACT_FIELDS if getattr(contact, field)
    }
    audit_record(tenant=tenant, action="contact.created", obj=contact, changes=created, account_id=contact.account_id)
    stage_change_record(tenant=tenant, contact=contact, from_stage="")
    return contact


@transaction.atomic
def contact_update(*, tenant: Tenant, contact: Contact, stage_change_reason: str = "", **values: Any) -> Contact:
    """Applies the given fields. A new lifecycle stage goes through the lifecycle rules, in the same transaction:
    a refused stage leaves every other field as it was too."""
    from lifecycle.services import contact_stage_change

    values = _normalise_contact_values({k: v for k, v in values.items() if k in CONTACT_FIELDS})
    new_stage = values.pop("lifecycle_stage", contact.lifecycle_stage)
    changes = field_changes(contact, values, CONTACT_FIELDS)
    if not changes:
        if new_stage != contact.lifecycle_stage:
            contact_stage_change(tenant=tenant, contact=contact, to_stage=new_stage, reason=stage_change_reason)
        return contact
    previous_account_id = contact.account_id
    for field, value in values.items():
        setattr(contact, field, value)
    _validate_contact(tenant, contact)
    contact.save()
    audit_record(tenant=tenant, action="contact.updated", obj=contact, changes=changes, account_id=contact.account_id)
    if previous_account_id and previous_account_id != contact.account_id:
        # The account the contact left keeps a trace of it in its own history.
        audit_record(
            tenant=tenant, action="contact.updated", obj=contact, changes=changes, account_id=previous_account_id
        )
    if new_stage != contact.lifecycle_stage:
        contact_stage_change(tenant=tenant, contact=contact, to_stage=new_stage, reason=stage_change_reason)
    return contact


@transaction.atomic
def contact_delete(*, tenant: Tenant, contact: Contact) -> None:
    audit_record(tenant=tenant, action="contact.deleted", obj=contact, account_id=contact.account_id)
    contact.delete()


@transaction.atomic
def note_add(*, tenant: Tenant, account: Account, body: str) -> Note:
    body = body.strip()
    if not body:
        raise ValidationError({"body": ["Write something first."]})
    note = Note.objects.create(organization=tenant.organization, account=account, author=tenant.user, body=body)
    audit_record(tenant=tenant, action="note.added", obj=note, account_id=account.pk)
    return note


def cohort_arr_snapshot_take(*, organization: Organization, day: date) -> list[CohortArrSnapshot]:
    """Writes (or rewrites) the day's ARR per cohort; running it twice for a day changes nothing more."""
    totals = {
        row["cohort"]: row
        for row in Account.objects.filter(status="active")
        .values("cohort")
        .annotate(account_count=Count("id"), arr=Sum("arr"))
        .order_by()
    }
    snapshots = []
    for cohort in Cohort.values:
        row = totals.get(cohort, {"account_count": 0, "arr": Decimal("0")})
        snapshot, _ = CohortArrSnapshot.objects.update_or_create(
            organization=organization,
            day=day,
            cohort=cohort,
            defaults={"account_count": row["account_count"], "arr": row["arr"] or Decimal("0")},
        )
        snapshots.append(snapshot)
    return snapshots
