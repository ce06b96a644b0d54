"""Sync runs against the fake HubSpot: what lands here, how runs count it, and what the next run reads."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import Account, Contact, LifecycleStage
from core.models import AuditEntry, Role
from core.tenancy import tenant_scope
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.rate_limit import RateLimitPacer
from integrations.hubspot.services import stage_mapping_update
from integrations.hubspot.sync import OVERLAP, HubSpotSync
from integrations.hubspot_models import HubSpotStageMapping
from integrations.models import Connection, ExternalRecord, Source, SyncKind, SyncRun, SyncStatus
from integrations.services import sync_run_begin
from lifecycle.models import Deal, DealStage, LifecycleStageChange
from tests.factories import AccountFactory, ContactFactory, OrganizationFactory


def seed(hubspot, contacts: int = 3):
    acme = hubspot.add_company("Acme Robotics", domain="https://www.acme.example/")
    globex = hubspot.add_company("Globex", domain="globex.example")
    people = [
        hubspot.add_contact(
            f"ada{n}@acme.example",
            firstname="Ada",
            lastname=f"Lovelace {n}",
            company=acme if n % 2 == 0 else globex,
            lifecyclestage="salesqualifiedlead",
            hs_lead_status="CONNECTED",
            ffc_tier="Enterprise",
            ffc_actions="created-instance;added-device",
            ffc_usage="Industrial IoT",
        )
        for n in range(contacts)
    ]
    deal = hubspot.add_deal("Acme expansion", stage="103", amount="24000.50", company=acme, contacts=people[:1])
    return acme, globex, people, deal


def test_full_sync_brings_companies_contacts_deals_with_their_associations(org, hubspot, run_sync):
    acme, globex, people, deal = seed(hubspot)
    run = run_sync(SyncKind.FULL)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert (run.created, run.updated, run.unchanged, run.failed) == (6, 0, 0, 0)
    assert (run.total, run.processed) == (6, 6)
    with tenant_scope(org):
        account = Account.objects.get(hubspot_company_id=acme.id)
        assert (account.name, account.domain) == ("Acme Robotics", "acme.example")  # normalised as the form does
        assert account.codename  # seed 003: every account gets its codename
        ada = Contact.objects.get(email="ada0@acme.example")
        assert ada.account == account
        assert Contact.objects.get(email="ada1@acme.example").account.hubspot_company_id == globex.id
        assert (ada.first_name, ada.last_name, ada.hubspot_contact_id) == ("Ada", "Lovelace 0", people[0].id)
        # HubSpot has them at SQL already: they land there, with the history row saying where it came from.
        assert ada.lifecycle_stage == LifecycleStage.SALES_QUALIFIED_LEAD
        assert ada.lead_status == "CONNECTED"
        history = LifecycleStageChange.objects.get(contact=ada)
        assert (history.to_stage, history.changed_by_label, history.reason) == (
            "salesqualifiedlead",
            "HubSpot sync",
            "Set in HubSpot",
        )
        assert (ada.ffc_tier, ada.ffc_actions, ada.ffc_usage) == (
            "Enterprise",
            ["created-instance", "added-device"],
            "Industrial IoT",
        )
        imported = Deal.objects.get(hubspot_deal_id=deal.id)
        assert (imported.account, imported.stage, str(imported.amount)) == (
            account,
            DealStage.VALUE_VALIDATED,
            "24000.50",
        )
        assert AuditEntry.objects.filter(action="contact.created", object_id=ada.pk).exists()
        assert AuditEntry.objects.filter(action="account.created", object_id=account.pk).exists()
        assert ExternalRecord.objects.filter(source=Source.HUBSPOT).count() == 6
        assert Connection.objects.get(source=Source.HUBSPOT).events_watermark is not None


def test_a_second_full_sync_changes_nothing(org, hubspot, run_sync):
    seed(hubspot)
    run_sync(SyncKind.FULL)
    with tenant_scope(org):
        audits = AuditEntry.objects.count()
    again = run_sync(SyncKind.FULL)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 6, 0)
    with tenant_scope(org):
        assert AuditEntry.objects.count() == audits
        assert Contact.objects.count() == 3
        assert Account.objects.count() == 2
        assert Deal.objects.count() == 1


def test_full_sync_pages_the_list_endpoints_to_the_end(org, hubspot, run_sync):
    company = hubspot.add_company("Big")
    for n in range(230):
        hubspot.add_contact(f"c{n}@big.example", company=company)
    run = run_sync(SyncKind.FULL)
    assert run.created == 231
    assert run.failed == 0
    assert hubspot.count("GET /crm/v3/objects/contacts") == 3  # 100 + 100 + 30, following `after`
    afters = [path for method, path, _ in hubspot.requests if path == "/crm/v3/objects/contacts"]
    assert len(afters) == 3
    with tenant_scope(org):
        assert Contact.objects.filter(account__hubspot_company_id=company.id).count() == 230


def test_incremental_reads_what_changed_since_the_watermark(org, hubspot, run_sync):
    long_ago = datetime.now(UTC) - timedelta(days=2)
    old = [hubspot.add_contact(f"old{n}@example.com", modified_at=long_ago) for n in range(4)]
    with time_machine.travel(datetime.now(UTC) - timedelta(days=1)):
        first = run_sync(SyncKind.FULL)
    assert first.created == 4
    with tenant_scope(org):
        watermark = Connection.objects.get(source=Source.HUBSPOT).events_watermark  # the first run's start
    hubspot.update("contacts", old[0].id, {"firstname": "Changed"})
    hubspot.add_contact("new@example.com")
    run = run_sync(SyncKind.INCREMENTAL)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert (run.created, run.updated, run.unchanged) == (1, 1, 0)  # the three untouched ones are not read at all
    searches = [body for body in hubspot.bodies("/crm/v3/objects/contacts/search") if body.get("limit", 0) > 1]
    gte = int(searches[0]["filterGroups"][0]["filters"][0]["value"])
    with tenant_scope(org):
        assert gte == int((watermark - OVERLAP).timestamp() * 1000)
        assert Contact.objects.get(email="old0@example.com").first_name == "Changed"


def test_incremental_splits_the_time_range_when_more_than_the_search_window_changed(org, hubspot, connection):
    """HubSpot's search stops at 10,000 results; the fake's window is shrunk to 50 to show the split with 130."""
    hubspot.search_window = 50
    start = datetime.now(UTC) - timedelta(hours=3)
    for n in range(130):
        hubspot.add_contact(f"w{n}@example.com", modified_at=start + timedelta(seconds=n * 30))
    with tenant_scope(org):
        Connection.objects.filter(pk=connection.pk).update(events_watermark=start - timedelta(hours=1))
        connection.refresh_from_db()
        run = sync_run_begin(SyncRun.objects.create(organization=org, source=Source.HUBSPOT, kind=SyncKind.INCREMENTAL))
        client = HubSpotClient(
            access_token=hubspot.token, host=hubspot.base_url, pacer=RateLimitPacer(), search_window=50
        )
        run = HubSpotSync(run=run, connection=connection, client=client).execute()
        assert run.status == SyncStatus.SUCCEEDED, run.error
        assert run.created == 130
        assert run.total == 130
        assert run.summary["search_windows"] >= 4  # contacts bisected until each part holds 50 or fewer
        assert Contact.objects.count() == 130
    pages = [b for b in hubspot.bodies("/crm/v3/objects/contacts/search") if b.get("limit", 0) > 1]
    assert all(int(b["after"]) + b["limit"] <= 50 for b in pages)


def test_a_record_that_cannot_be_applied_is_reported_and_the_rest_lands(org, hubspot, run_sync):
    hubspot.add_contact("fine@example.com")
    broken = hubspot.add_contact("")  # HubSpot allows contacts without email; we cannot keep one
    run = run_sync(SyncKind.FULL)
    assert run.status == SyncStatus.PARTIAL
    assert (run.created, run.failed) == (1, 1)
    with tenant_scope(org):
        error = run.errors.get()
        assert error.external_id == broken.id
        assert "no usable email" in error.message
        # The watermark stops before the failed record, so the next run reads it again.
        assert Connection.objects.get(source=Source.HUBSPOT).events_watermark <= broken.updated_at


def test_existing_contacts_and_accounts_are_joined_not_duplicated(org, hubspot, run_sync):
    with tenant_scope(org):
        local_account = AccountFactory(organization=org, name="Acme (ours)", domain="acme.example")
        local = ContactFactory(account=local_account, email="ada0@acme.example", first_name="Ada")
    acme, _, people, _ = seed(hubspot, contacts=1)
    run = run_sync(SyncKind.FULL)
    with tenant_scope(org):
        local.refresh_from_db()
        local_account.refresh_from_db()
        assert local.hubspot_contact_id == people[0].id
        assert local_account.hubspot_company_id == acme.id
        assert Contact.objects.count() == 1
        assert Account.objects.count() == 2
        assert run.created == 2  # Globex and the deal


def test_an_association_moved_in_hubspot_moves_the_contact(org, hubspot, run_sync):
    acme, globex, people, _ = seed(hubspot, contacts=1)
    run_sync(SyncKind.FULL)
    hubspot.dissociate("contacts", people[0].id, "companies", acme.id)
    hubspot.associate("contacts", people[0].id, "companies", globex.id)
    hubspot.update("contacts", people[0].id, {})  # HubSpot bumps the last-modified time on association changes
    run_sync(SyncKind.INCREMENTAL)
    with tenant_scope(org):
        assert Contact.objects.get(email="ada0@acme.example").account.hubspot_company_id == globex.id


def test_deal_stages_follow_the_organizations_mapping(org, hubspot, run_sync, system, member_factory):
    member_factory(Role.CSM, org)  # a won deal is handed over to a CSM (seed 000)
    acme = hubspot.add_company("Acme")
    hubspot.set_pipeline_stages(
        [("s1", "Discovery", "0.1", False), ("s2", "Signed", "1.0", True), ("s3", "Dead", "0.0", True)]
    )
    discovery = hubspot.add_deal("Found", stage="s1", company=acme)
    signed = hubspot.add_deal("Won it", stage="s2", company=acme)
    run = run_sync(SyncKind.FULL)
    assert run.failed == 2  # nothing guesses what "Discovery" or "Signed" mean
    with tenant_scope(org):
        assert "not mapped" in run.errors.first().message
        rows = {row.stage_id: row for row in HubSpotStageMapping.objects.all()}
        stage_mapping_update(
            tenant=system, stages={rows["s1"].pk: DealStage.POC_STARTED, rows["s2"].pk: DealStage.CLOSED_WON}
        )
    run = run_sync(SyncKind.FULL)
    assert run.created == 2
    assert run.failed == 0
    with tenant_scope(org):
        assert Deal.objects.get(hubspot_deal_id=discovery.id).stage == DealStage.POC_STARTED
        won = Deal.objects.get(hubspot_deal_id=signed.id)
        assert won.stage == DealStage.CLOSED_WON
        assert won.closed_at is not None


def test_a_stage_hubspot_moved_lands_even_when_it_skips_one(org, hubspot, run_sync):
    acme = hubspot.add_company("Acme")
    deal = hubspot.add_deal("Fast", stage="101", company=acme)
    run_sync(SyncKind.FULL)
    hubspot.update("deals", deal.id, {"dealstage": "104"})  # Opportunity → Contract Sent in HubSpot
    run_sync(SyncKind.INCREMENTAL)
    with tenant_scope(org):
        assert Deal.objects.get(hubspot_deal_id=deal.id).stage == DealStage.CONTRACT_SENT


def test_a_deal_lost_in_hubspot_needs_a_reason_from_our_list(org, hubspot, run_sync):
    acme = hubspot.add_company("Acme")
    deal = hubspot.add_deal("Gone", stage="closedlost", company=acme, closed_lost_reason="They went quiet")
    run = run_sync(SyncKind.FULL)
    assert run.failed == 0
    with tenant_scope(org):
        lost = Deal.objects.get(hubspot_deal_id=deal.id)
        assert lost.stage == DealStage.CLOSED_LOST
        assert lost.lost_reason == "Other"


def test_one_organizations_sync_never_touches_another(org, hubspot, run_sync):
    other = OrganizationFactory(slug="other-co")
    with tenant_scope(other):
        theirs = ContactFactory(account__organization=other, email="ada0@acme.example", first_name="Theirs")
    seed(hubspot, contacts=1)
    run_sync(SyncKind.FULL)
    with tenant_scope(other):
        theirs.refresh_from_db()
        assert (theirs.first_name, theirs.hubspot_contact_id) == ("Theirs", "")
        assert not ExternalRecord.objects.exists()
        assert Account.objects.count() == 1


@pytest.mark.parametrize("times", [3])
def test_a_rate_limited_sync_loses_no_record(org, hubspot, run_sync, times):
    company = hubspot.add_company("Big")
    for n in range(150):
        hubspot.add_contact(f"rl{n}@example.com", company=company)
    hubspot.fail_next(429, times=times, path_contains="/crm/v3/objects/contacts")
    run = run_sync(SyncKind.FULL)
    assert run.status == SyncStatus.SUCCEEDED
    assert run.created == 151
    assert hubspot.rate_limited_count == times
    assert run.summary["rate_limited"] == times
    with tenant_scope(org):
        assert Contact.objects.count() == 150


def test_a_sync_paces_itself_under_the_real_limit(org, hubspot, run_sync):
    hubspot.limiter.max_requests, hubspot.limiter.interval_ms = 3, 300
    company = hubspot.add_company("Big")
    for n in range(250):
        hubspot.add_contact(f"pace{n}@example.com", company=company)
    run = run_sync(SyncKind.FULL)
    assert run.created == 251
    assert run.failed == 0
    assert hubspot.rate_limited_count == 0  # paced by the headers, never refused
    assert run.summary["requests"] >= 9
    assert run.summary["waited_seconds"] > 0


def test_progress_is_written_as_batches_land(org, hubspot, run_sync, monkeypatch):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from integrations.hubspot import sync

    monkeypatch.setattr(sync, "WRITE_BATCH", 100)  # one page per write, to count the writes
    company = hubspot.add_company("Big")
    for n in range(250):
        hubspot.add_contact(f"prog{n}@example.com", company=company)
    with CaptureQueriesContext(db) as queries:
        run = run_sync(SyncKind.FULL)
    advances = [
        q for q in queries.captured_queries if q["sql"].startswith('UPDATE "integrations_syncrun" SET "processed"')
    ]
    assert len(advances) >= 4  # the company page and three contact pages, each counted as it lands
    assert run.total == 251
    assert run.processed == 251
