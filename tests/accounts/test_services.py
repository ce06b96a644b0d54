from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.codenames import MINOR_PLANET_NAMES
from accounts.models import Account, CohortArrSnapshot
from accounts.services import (
    account_create,
    account_update,
    cohort_arr_snapshot_take,
    contact_create,
    contact_update,
    note_add,
)
from core.models import AuditEntry, Role
from core.tenancy import Tenant, tenant_scope
from tests.factories import AccountFactory, ContactFactory, MembershipFactory


def test_new_account_gets_a_free_minor_planet_codename_and_mrr_from_arr(scope, tenant):
    first = account_create(tenant=tenant, name="Quarry Labs", arr=Decimal("30000"))
    second = account_create(tenant=tenant, name="Harbor Systems")
    assert first.codename.split(" ")[0] in MINOR_PLANET_NAMES
    assert first.codename != second.codename
    assert first.mrr == Decimal("2500.00")
    assert first.currency == tenant.organization.default_currency


def test_codename_clash_is_refused(scope, tenant):
    account_create(tenant=tenant, name="A", codename="Ceres")
    with pytest.raises(ValidationError) as error:
        account_create(tenant=tenant, name="B", codename="Ceres")
    assert "already used" in error.value.message_dict["codename"][0]


def test_owners_must_be_members_of_the_organization(scope, tenant, other_org):
    outsider = MembershipFactory(organization=other_org).user
    with pytest.raises(ValidationError) as error:
        account_create(tenant=tenant, name="Quarry Labs", csm_owner=outsider)
    assert error.value.message_dict == {"csm_owner": ["Choose a member of this organization."]}
    assert not Account.objects.exists()


def test_qbr_nomination_needs_a_reason(scope, tenant):
    with pytest.raises(ValidationError) as error:
        account_create(tenant=tenant, name="Quarry Labs", qbr_nominated=True)
    assert "qbr_nomination_reason" in error.value.message_dict
    account = account_create(tenant=tenant, name="Quarry Labs", qbr_nominated=True, qbr_nomination_reason="Growth")
    assert account.qbr_nominated


def test_update_records_who_and_what_changed(scope, tenant):
    account = AccountFactory(organization=tenant.organization, arr=Decimal("1000.00"), cohort="starter")
    account_update(tenant=tenant, account=account, arr=Decimal("5000.00"), cohort="premium", name=account.name)
    entry = AuditEntry.objects.get(action="account.updated")
    assert entry.actor == tenant.user
    assert entry.changes == {"arr": ["1000.00", "5000.00"], "cohort": ["starter", "premium"]}
    assert entry.account_id == account.pk
    account_update(tenant=tenant, account=account, arr=Decimal("5000.00"))
    assert AuditEntry.objects.filter(action="account.updated").count() == 1  # nothing changed, nothing recorded


def test_negative_money_is_refused(scope, tenant):
    with pytest.raises(ValidationError) as error:
        account_create(tenant=tenant, name="Quarry Labs", arr=Decimal("-1"))
    assert error.value.message_dict["arr"] == ["Must be zero or more."]


def test_contact_email_is_unique_per_organization_ignoring_case(org, other_org, tenant):
    with tenant_scope(org):
        contact_create(tenant=tenant, email="Ada@Example.com", first_name="Ada")
        with pytest.raises(ValidationError) as error:
            contact_create(tenant=tenant, email="ada@example.COM")
        assert "already exists" in error.value.message_dict["email"][0]
    other_admin = MembershipFactory(organization=other_org, role=Role.ADMIN).user
    with tenant_scope(other_org):
        contact = contact_create(
            tenant=Tenant(organization=other_org, role=Role.ADMIN, user=other_admin), email="ada@example.com"
        )
    assert contact.email == "ada@example.com"


def test_contact_cannot_point_to_another_tenants_account(org, other_org, tenant):
    foreign = AccountFactory(organization=other_org)
    with tenant_scope(org), pytest.raises(ValidationError) as error:
        contact_create(tenant=tenant, email="x@example.com", account=foreign)
    assert error.value.message_dict == {"account": ["No such account in this organization."]}


def test_moving_a_contact_is_recorded_on_both_accounts(scope, tenant):
    old, new = AccountFactory(organization=tenant.organization), AccountFactory(organization=tenant.organization)
    contact = ContactFactory(account=old)
    contact_update(tenant=tenant, contact=contact, account=new, ffc_actions="snapshot-created; device-added")
    assert contact.ffc_actions == ["snapshot-created", "device-added"]
    assert AuditEntry.objects.filter(action="contact.updated", account_id=old.pk).exists()
    assert AuditEntry.objects.filter(action="contact.updated", account_id=new.pk).exists()


def test_empty_note_is_refused(scope, tenant):
    account = AccountFactory(organization=tenant.organization)
    with pytest.raises(ValidationError):
        note_add(tenant=tenant, account=account, body="   ")
    assert note_add(tenant=tenant, account=account, body=" Called Ada ").body == "Called Ada"


def test_cohort_snapshot_is_idempotent_and_counts_only_active_accounts(scope, org):
    AccountFactory(organization=org, cohort="premium", arr=Decimal("10000"))
    AccountFactory(organization=org, cohort="premium", arr=Decimal("5000"))
    AccountFactory(organization=org, cohort="premium", arr=Decimal("9999"), status="churned")
    day = date(2026, 11, 1)
    cohort_arr_snapshot_take(organization=org, day=day)
    cohort_arr_snapshot_take(organization=org, day=day)
    snapshots = {s.cohort: s for s in CohortArrSnapshot.objects.filter(day=day)}
    assert len(snapshots) == 4
    assert snapshots["premium"].arr == Decimal("15000.00")
    assert snapshots["premium"].account_count == 2
    assert snapshots["trial"].account_count == 0
