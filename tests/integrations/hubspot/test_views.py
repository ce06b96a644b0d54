"""The HubSpot settings pages: deal stage mapping, field ownership, the conflict log, the connection test."""

import pytest
from django.urls import reverse

from core.models import Role
from core.tenancy import tenant_scope
from integrations.hubspot.sync import test_connection as hubspot_test_connection
from integrations.hubspot_models import FieldOwner, HubSpotConflict, HubSpotFieldOwnership, HubSpotStageMapping
from integrations.models import Source, SyncKind
from integrations.services import connection_get
from lifecycle.models import DealStage
from tests.factories import OrganizationFactory

PAGES = ("hubspot_stage_mapping", "hubspot_field_ownership", "hubspot_conflicts")


@pytest.fixture
def admin(client_for):
    return client_for(Role.ADMIN)


def test_the_stage_mapping_page_reads_and_saves_the_mapping(org, hubspot, connection, admin):
    response = admin.post(reverse("hubspot_stage_refresh", args=[org.slug]))
    assert response.status_code == 302
    with tenant_scope(org):
        rows = {row.stage_id: row for row in HubSpotStageMapping.objects.all()}
    assert rows["104"].stage == DealStage.CONTRACT_SENT  # guessed from the label "Contract Sent" (seed 002)
    page = admin.get(reverse("hubspot_stage_mapping", args=[org.slug]))
    assert page.status_code == 200
    assert b"POC Started" in page.content
    data = {f"stage_{row.pk}": row.stage for row in rows.values()}
    data[f"stage_{rows['104'].pk}"] = DealStage.VALUE_VALIDATED
    assert admin.post(reverse("hubspot_stage_mapping", args=[org.slug]), data).status_code == 302
    with tenant_scope(org):
        assert HubSpotStageMapping.objects.get(stage_id="104").stage == DealStage.VALUE_VALIDATED


def test_a_closed_hubspot_stage_cannot_mean_an_open_one(org, hubspot, connection, admin):
    admin.post(reverse("hubspot_stage_refresh", args=[org.slug]))
    with tenant_scope(org):
        rows = {row.stage_id: row for row in HubSpotStageMapping.objects.all()}
    data = {f"stage_{row.pk}": row.stage for row in rows.values()}
    data[f"stage_{rows['closedwon'].pk}"] = DealStage.CONTRACT_SENT
    response = admin.post(reverse("hubspot_stage_mapping", args=[org.slug]), data)
    assert response.status_code == 400  # the form offers only closed stages for a closed HubSpot stage
    with tenant_scope(org):
        assert HubSpotStageMapping.objects.get(stage_id="closedwon").stage == DealStage.CLOSED_WON


def test_field_ownership_is_shown_and_saved(org, admin):
    page = admin.get(reverse("hubspot_field_ownership", args=[org.slug]))
    assert page.status_code == 200
    assert b"FFC-Actions" in page.content
    form = page.context["form"]
    data = {name: field.initial for name, field in form.fields.items()}
    assert data["contact__ffc_actions"] == FieldOwner.PLATFORM  # the defaults: we own FFC-*
    assert data["contact__email"] == FieldOwner.HUBSPOT  # HubSpot owns names, email, lifecycle
    data["contact__lifecycle_stage"] = FieldOwner.PLATFORM
    assert admin.post(reverse("hubspot_field_ownership", args=[org.slug]), data).status_code == 302
    with tenant_scope(org):
        row = HubSpotFieldOwnership.objects.get(object_type="contact", field="lifecycle_stage")
        assert row.owner == FieldOwner.PLATFORM


def test_the_conflict_log_lists_both_values_and_the_winner(org, admin, django_assert_max_num_queries):
    with tenant_scope(org):
        for n in range(5):
            HubSpotConflict.objects.create(
                organization=org,
                object_type="contact",
                external_id=str(100 + n),
                record_label=f"p{n}@example.com",
                field="first_name",
                local_value="Patricia",
                remote_value="Patrick",
                winner=FieldOwner.HUBSPOT,
            )
    with django_assert_max_num_queries(12):
        page = admin.get(reverse("hubspot_conflicts", args=[org.slug]))
    assert page.status_code == 200
    assert page.content.count(b'data-testid="conflict-row"') == 5
    assert b"Patricia" in page.content
    assert b"Patrick" in page.content


@pytest.mark.parametrize("name", PAGES)
def test_another_organizations_member_gets_404(org, client_for, name):
    outsider = client_for(Role.ADMIN, organization=OrganizationFactory(slug="outsiders"))
    assert outsider.get(reverse(name, args=[org.slug])).status_code == 404


@pytest.mark.parametrize("name", PAGES)
def test_only_admins_manage_the_integration(org, client_for, name):
    assert client_for(Role.CSM).get(reverse(name, args=[org.slug])).status_code == 403


def test_connection_checks_with_a_good_and_a_bad_token(org, hubspot, connection):
    with tenant_scope(org):
        checks = hubspot_test_connection(connection)
    assert [check.name for check in checks] == [
        "Read contacts",
        "Read companies",
        "Read deals",
        "Deal pipelines",
        "FFC properties",
        "Webhook secret",
    ]
    assert all(check.ok for check in checks), checks
    hubspot.token = "pat-rotated"
    with tenant_scope(org):
        checks = hubspot_test_connection(connection_get(organization=org, source=Source.HUBSPOT))
    assert len(checks) == 1
    assert not checks[0].ok
    assert "refused" in checks[0].detail


def test_the_settings_page_tests_the_connection_and_links_the_hubspot_pages(org, hubspot, connection, admin):
    response = admin.post(reverse("integration_test", args=[org.slug, "hubspot"]), follow=True)
    assert response.status_code == 200
    assert b"All 6 checks passed" in response.content
    for name in PAGES:
        assert reverse(name, args=[org.slug]).encode() in response.content


def test_a_sync_started_from_the_page_runs_as_a_celery_task(
    org, hubspot, connection, admin, django_capture_on_commit_callbacks
):
    hubspot.add_contact("ada@acme.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("integration_sync", args=[org.slug, "hubspot"]), {"kind": SyncKind.FULL})
    assert response.status_code == 302
    with tenant_scope(org):
        from integrations.models import SyncRun

        run = SyncRun.objects.get(source=Source.HUBSPOT)
        assert run.status == "succeeded"
        assert run.created == 1
        assert run.progress_percent == 100


def test_the_stages_of_a_turned_off_connection_are_not_read(org, hubspot, connection, admin):
    with tenant_scope(org):
        connection.enabled = False
        connection.save(update_fields=["enabled"])
    answer = admin.post(reverse("hubspot_stage_refresh", args=[org.slug]), follow=True)
    assert "turned off: turn it on to read its stages" in answer.content.decode()
    assert hubspot.count("pipelines") == 0
