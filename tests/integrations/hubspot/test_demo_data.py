"""The demo's HubSpot: a turned-off connection (the demo never calls HubSpot), the default pipeline mapped through
the sync's own service, most records linked (their pages say when HubSpot synced them), runs, webhooks, conflicts."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Account, Contact
from core.models import Organization, Role
from core.tenancy import tenant_scope
from integrations.hubspot_models import HubSpotConflict, HubSpotStageMapping
from integrations.models import Connection, ExternalRecord, Source, SyncRun, SyncStatus, WebhookEvent
from lifecycle.models import DealStage
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db):
    call_command("seed_demo", "--accounts", "40")
    return Organization.objects.get(slug="northwind")


def hubspot_rows() -> dict[str, int]:
    return {
        "links": ExternalRecord.objects.filter(source=Source.HUBSPOT).count(),
        "runs": SyncRun.objects.filter(source=Source.HUBSPOT).count(),
        "events": WebhookEvent.objects.filter(source=Source.HUBSPOT).count(),
        "conflicts": HubSpotConflict.objects.count(),
        "stages": HubSpotStageMapping.objects.count(),
    }


def test_the_demo_portal_is_mapped_linked_and_has_a_history_but_is_turned_off(seeded):
    with tenant_scope(seeded):
        connection = Connection.objects.get(source=Source.HUBSPOT)
        assert connection.is_configured
        assert not connection.enabled
        stages = dict(HubSpotStageMapping.objects.values_list("stage_id", "stage"))
        assert stages["contractsent"] == DealStage.CONTRACT_SENT
        assert stages["closedlost"] == DealStage.CLOSED_LOST
        linked_contacts = Contact.objects.exclude(hubspot_contact_id="")
        assert 0 < linked_contacts.count() < Contact.objects.count()
        link = ExternalRecord.objects.get(
            source=Source.HUBSPOT, object_type="contact", external_id=linked_contacts.first().hubspot_contact_id
        )
        assert link.local_id == linked_contacts.first().pk
        assert set(SyncRun.objects.filter(source=Source.HUBSPOT).values_list("status", flat=True)) == {
            SyncStatus.SUCCEEDED,
            SyncStatus.PARTIAL,
            SyncStatus.FAILED,
        }
        assert HubSpotConflict.objects.count() == 3
        before = hubspot_rows()
    call_command("seed_demo", "--accounts", "40")
    with tenant_scope(seeded):
        assert hubspot_rows() == before


def test_a_linked_accounts_page_says_hubspot_synced_it(seeded, client):
    with tenant_scope(seeded):
        account = Account.objects.exclude(hubspot_company_id="").first()
    member = MembershipFactory(organization=seeded, role=Role.CSM)
    client.force_login(member.user)
    page = client.get(reverse("account_detail", args=[seeded.slug, account.pk])).content.decode()
    assert "HubSpot synced" in page
