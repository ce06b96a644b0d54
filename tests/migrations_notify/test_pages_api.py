"""The campaign pages and `/api/v1/migration-campaigns/`: counts, drill-down, actions, field errors, outsiders."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from core.models import Role
from core.tenancy import Tenant, tenant_scope
from migrations_notify import services
from migrations_notify.models import CampaignStatus, MigrationCampaign, MigrationTeam
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

CSV = (
    "team_id,team_name,team_email,instance_id,instance_name\n"
    "t1,Team One,one@one.example,a1,alpha\nt1,Team One,one@one.example,a2,beta\nt2,Two,two@two.example,b1,gamma\n"
)


@pytest.fixture
def campaign(org):
    owner = MembershipFactory(organization=org, role=Role.CSM).user
    tenant = Tenant(organization=org, role=Role.CSM, user=owner)
    with tenant_scope(org):
        campaign = services.campaign_create(
            tenant=tenant,
            name="Move to eu-2",
            target_server="k8s-eu-2",
            deadline=date(2027, 3, 31),
            instance_source="csv",
        )
        services.instances_import_csv(tenant=tenant, campaign=campaign, csv_text=CSV)
    return campaign


def test_the_campaign_pages(org, campaign, client_for):
    client = client_for(Role.CSM)
    listed = client.get(f"/o/{org.slug}/migrations/").content.decode()
    assert "Move to eu-2" in listed
    page = client.get(f"/o/{org.slug}/migrations/{campaign.pk}/").content.decode()
    assert 'data-testid="count-to-migrate">3<' in page
    assert "T-90 new server ready" in page
    assert "31 Dec 2026" in page
    assert "Team One" in page
    with tenant_scope(org):
        team = MigrationTeam.objects.get(external_id="t1")
    drill = client.get(f"/o/{org.slug}/migrations/{campaign.pk}/", {"team": team.pk}).content.decode()
    assert "alpha" in drill
    assert "gamma" not in drill
    client.post(f"/o/{org.slug}/migrations/{campaign.pk}/ready/")
    with time_machine.travel(datetime(2027, 3, 1, 7, tzinfo=UTC)):
        client.force_login(client.user)  # months later: a fresh session
        ran = client.post(f"/o/{org.slug}/migrations/{campaign.pk}/run/", follow=True).content.decode()
        assert "Today&#x27;s step ran." in ran
        again = client.post(f"/o/{org.slug}/migrations/{campaign.pk}/run/", follow=True).content.decode()
        assert "Nothing is due today" in again
        page = client.get(f"/o/{org.slug}/migrations/{campaign.pk}/").content.decode()
        assert "one@one.example" in page  # the recorded email
    client.post(f"/o/{org.slug}/migrations/{campaign.pk}/pause/")
    with tenant_scope(org):
        campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    refused = client.post(f"/o/{org.slug}/migrations/{campaign.pk}/run/", follow=True).content.decode()
    assert "The campaign is paused" in refused
    assert client_for(Role.AE).post(f"/o/{org.slug}/migrations/{campaign.pk}/pause/").status_code == 403
    form = client.post(f"/o/{org.slug}/migrations/new/", {"name": "", "notice_body": "Hi {nobody}"})
    assert form.status_code == 400


def test_the_campaigns_api(org, other_org, api_for):
    api = api_for(Role.CSM)
    bad = api.post(
        "/api/v1/migration-campaigns/",
        {"name": "X", "target_server": "k8s-2", "deadline": "2027-06-30", "notice_body": "Hello {customer}"},
        format="json",
    )
    assert bad.status_code == 400
    body = bad.json()
    assert "notice_body" in body
    assert "platform_base_url" in body
    created = api.post(
        "/api/v1/migration-campaigns/",
        {
            "name": "Move",
            "target_server": "k8s-2",
            "deadline": "2027-06-30",
            "instance_source": "csv",
            "platform_token": "secret-token",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    campaign = created.json()
    assert campaign["notify_on"] == "2027-05-31"
    assert campaign["ready_by"] == "2027-04-01"
    assert "platform_token" not in campaign
    pk = campaign["id"]
    imported = api.post(f"/api/v1/migration-campaigns/{pk}/import-csv/", {"csv": CSV}, format="json")
    assert imported.json()["to_migrate_count"] == 3
    ready = api.post(f"/api/v1/migration-campaigns/{pk}/confirm-ready/")
    assert ready.json()["ready_confirmed_at"]
    assert api.post(f"/api/v1/migration-campaigns/{pk}/pause/").json()["status"] == "paused"
    assert api.post(f"/api/v1/migration-campaigns/{pk}/run/").status_code == 400
    assert api.post(f"/api/v1/migration-campaigns/{pk}/resume/").json()["status"] == "active"
    patched = api.patch(f"/api/v1/migration-campaigns/{pk}/", {"name": "Move to k8s-2"}, format="json")
    assert patched.json()["name"] == "Move to k8s-2"
    assert api.get("/api/v1/migration-campaigns/").json()["results"][0]["id"] == pk
    outsider = api_for(Role.ADMIN, organization=other_org)
    assert outsider.get(f"/api/v1/migration-campaigns/{pk}/").status_code == 404
    assert outsider.post(f"/api/v1/migration-campaigns/{pk}/pause/").status_code == 404
    assert outsider.get("/api/v1/migration-campaigns/").json()["results"] == []
    assert api_for(Role.AE).post(f"/api/v1/migration-campaigns/{pk}/pause/").status_code == 403
    assert api.delete(f"/api/v1/migration-campaigns/{pk}/").status_code == 204
    with tenant_scope(org):
        assert not MigrationCampaign.objects.exists()
