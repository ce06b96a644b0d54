"""What we own goes back to HubSpot when it changes here, in batches; what both changed is settled by ownership."""

from accounts.models import Account, Contact
from accounts.services import account_update, contact_update
from core.models import Role
from core.tenancy import Tenant, tenant_scope
from integrations.hubspot.services import field_ownership_update
from integrations.hubspot_models import FieldOwner, HubSpotConflict
from integrations.models import SyncKind
from lifecycle.models import Deal, DealStage
from lifecycle.services import deal_move


def portal(hubspot, contacts=2):
    company = hubspot.add_company("Acme", domain="acme.example")
    people = [
        hubspot.add_contact(
            f"p{n}@acme.example",
            firstname="Pat",
            company=company,
            ffc_tier="Enterprise",
            ffc_actions="created-instance",
            ffc_usage="Prototyping",
        )
        for n in range(contacts)
    ]
    return company, people


def updates(hubspot) -> list[list[dict]]:
    return [body["inputs"] for body in hubspot.bodies("/crm/v3/objects/contacts/batch/update")]


def test_a_first_sync_pushes_nothing_and_keeps_hubspots_values(org, hubspot, run_sync):
    _, people = portal(hubspot)
    run = run_sync(SyncKind.FULL)
    assert run.summary["pushed_contacts"] == 0
    assert updates(hubspot) == []
    assert hubspot.get("contacts", people[0].id).properties["ffc_tier"] == "Enterprise"


def test_ffc_values_changed_here_are_pushed_once(org, hubspot, run_sync, tenant):
    _, people = portal(hubspot)
    run_sync(SyncKind.FULL)
    with tenant_scope(org):
        contact = Contact.objects.get(email="p0@acme.example")
        contact_update(tenant=tenant, contact=contact, ffc_actions=["created-instance", "added-device"])
    run = run_sync(SyncKind.INCREMENTAL)
    assert run.summary["pushed_contacts"] == 1
    assert updates(hubspot) == [
        [
            {
                "id": people[0].id,
                # Only the field that changed: HubSpot's tier (adopted on first sight) is not overwritten.
                "properties": {"ffc_actions": "created-instance;added-device"},
            }
        ]
    ]
    assert hubspot.get("contacts", people[0].id).properties["ffc_actions"] == "created-instance;added-device"
    again = run_sync(SyncKind.INCREMENTAL)
    assert again.summary["pushed_contacts"] == 0  # unchanged since the push: nothing sent
    assert len(updates(hubspot)) == 1


def test_pushes_go_in_batches_of_at_most_100(org, hubspot, run_sync, tenant):
    portal(hubspot, contacts=150)
    run_sync(SyncKind.FULL)
    with tenant_scope(org):
        account = Account.objects.get()
        # Seed 000: FFC-Tier is the tier of the contact's team; the account moves up, all 150 tiers change.
        account_update(tenant=tenant, account=account, cohort="premium")
    run = run_sync(SyncKind.INCREMENTAL)
    assert run.summary["pushed_contacts"] == 150
    assert [len(batch) for batch in updates(hubspot)] == [100, 50]
    assert {item["properties"]["ffc_tier"] for batch in updates(hubspot) for item in batch} == {"Premium"}
    with tenant_scope(org):
        assert set(Contact.objects.values_list("ffc_tier", flat=True)) == {"Premium"}


def test_a_deal_closed_here_moves_in_hubspot(org, hubspot, run_sync, tenant):
    company, _ = portal(hubspot, contacts=0)
    deal = hubspot.add_deal("Acme renewal", stage="102", company=company)
    run_sync(SyncKind.FULL)
    with tenant_scope(org):
        local = Deal.objects.get(hubspot_deal_id=deal.id)
        deal_move(tenant=tenant, deal=local, to_stage=DealStage.CLOSED_LOST, lost_reason="No budget")
    run = run_sync(SyncKind.INCREMENTAL)
    assert run.summary["pushed_deals"] == 1
    pushed = hubspot.get("deals", deal.id).properties
    assert pushed["dealstage"] == "closedlost"
    assert pushed["closed_lost_reason"] == "No budget"
    assert run_sync(SyncKind.INCREMENTAL).summary["pushed_deals"] == 0


def test_a_field_both_sides_changed_goes_to_its_owner_and_is_logged(org, hubspot, run_sync, tenant):
    _, people = portal(hubspot)
    run_sync(SyncKind.FULL)
    with tenant_scope(org):
        contact = Contact.objects.get(email="p0@acme.example")
        contact_update(tenant=tenant, contact=contact, first_name="Patricia", ffc_usage="Home automation")
    hubspot.update("contacts", people[0].id, {"firstname": "Patrick", "ffc_usage": "Data integration"})
    run = run_sync(SyncKind.INCREMENTAL)
    assert run.summary["conflicts"] == 2
    with tenant_scope(org):
        contact.refresh_from_db()
        assert contact.first_name == "Patrick"  # HubSpot owns names (the default)
        assert contact.ffc_usage == "Home automation"  # we own FFC-Usage
        conflicts = {c.field: c for c in HubSpotConflict.objects.all()}
        assert set(conflicts) == {"first_name", "ffc_usage"}
        assert (conflicts["first_name"].local_value, conflicts["first_name"].remote_value) == ("Patricia", "Patrick")
        assert conflicts["first_name"].winner == FieldOwner.HUBSPOT
        assert (conflicts["ffc_usage"].local_value, conflicts["ffc_usage"].remote_value) == (
            "Home automation",
            "Data integration",
        )
        assert conflicts["ffc_usage"].winner == FieldOwner.PLATFORM
        assert conflicts["ffc_usage"].run_id == run.pk
    # Ours won FFC-Usage, so it went back to HubSpot in the same run.
    assert hubspot.get("contacts", people[0].id).properties["ffc_usage"] == "Home automation"


def test_ownership_is_a_setting(org, hubspot, run_sync, tenant):
    _, people = portal(hubspot)
    run_sync(SyncKind.FULL)
    with tenant_scope(org):
        field_ownership_update(tenant=tenant, owners={("contact", "first_name"): FieldOwner.PLATFORM})
        contact = Contact.objects.get(email="p0@acme.example")
        contact_update(tenant=tenant, contact=contact, first_name="Patricia")
    hubspot.update("contacts", people[0].id, {"firstname": "Patrick"})
    run_sync(SyncKind.INCREMENTAL)
    with tenant_scope(org):
        contact.refresh_from_db()
        assert contact.first_name == "Patricia"
        assert HubSpotConflict.objects.get().winner == FieldOwner.PLATFORM


def test_a_change_on_one_side_only_is_no_conflict(org, hubspot, run_sync):
    _, people = portal(hubspot)
    run_sync(SyncKind.FULL)
    hubspot.update("contacts", people[1].id, {"firstname": "Sam", "ffc_usage": "Industrial IoT"})
    run = run_sync(SyncKind.INCREMENTAL)
    assert run.summary["conflicts"] == 0
    with tenant_scope(org):
        contact = Contact.objects.get(email="p1@acme.example")
        # HubSpot's change flows in, even for a field we own, when nobody changed it here.
        assert (contact.first_name, contact.ffc_usage) == ("Sam", "Industrial IoT")
        assert not HubSpotConflict.objects.exists()


def test_who_acts_for_the_sync(org):
    # The sync acts as the system: audit entries and stage history carry no member.
    tenant = Tenant(organization=org, role=Role.ADMIN)
    assert tenant.member is None
    assert tenant.actor_label == "System"


def test_a_deal_closed_here_stays_closed_when_hubspot_moved_it_meanwhile(org, hubspot, run_sync, tenant):
    company, _ = portal(hubspot, contacts=0)
    deal = hubspot.add_deal("Contested", stage="101", company=company)
    run_sync(SyncKind.FULL)
    with tenant_scope(org):
        deal_move(tenant=tenant, deal=Deal.objects.get(hubspot_deal_id=deal.id), to_stage=DealStage.CLOSED_LOST,
                  lost_reason="Price")  # fmt: skip
    hubspot.update("deals", deal.id, {"dealstage": "102"})  # an AE moved it to POC Started in HubSpot
    run = run_sync(SyncKind.INCREMENTAL)
    with tenant_scope(org):
        assert Deal.objects.get(hubspot_deal_id=deal.id).stage == DealStage.CLOSED_LOST  # seed 002
        conflict = HubSpotConflict.objects.get(field="stage")
        assert conflict.winner == FieldOwner.PLATFORM
        assert conflict.local_value == DealStage.CLOSED_LOST
        assert conflict.remote_value == DealStage.POC_STARTED
    assert run.summary["pushed_deals"] == 1
    assert hubspot.get("deals", deal.id).properties["dealstage"] == "closedlost"
