"""The machinery every source shares: connections and their secrets, runs, the lock, webhook records, links.

Sources are plugged in through integrations.registry; here a small recording adapter stands in for one, so the
machinery is tested on its own. The sources' own tests (tests/revenue, tests/integrations/hubspot) run it with the
real adapters against servers on 127.0.0.1.
"""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEntry, Role
from core.secrets import unseal
from integrations import registry, services
from integrations.models import (
    Connection,
    ExternalRecord,
    Source,
    SyncKind,
    SyncRun,
    SyncStatus,
    WebhookEvent,
    WebhookStatus,
)
from integrations.registry import ConnectionCheck, TransientSyncError

RESTRICTED_KEY = "rk_test_51Northwind0000secretvalue9876"


class RecordingAdapter:
    """Syncs three records in two batches; the test decides whether one fails or the whole run breaks."""

    source = Source.STRIPE
    calls: list[int] = []
    behaviour = "ok"

    def test_connection(self, connection):
        return [ConnectionCheck("API key", ok=True, detail=f"key ends {unseal(connection.api_key_sealed)[-4:]}")]

    def sync(self, run, connection):
        type(self).calls.append(run.pk)
        if self.behaviour == "transient":
            raise TransientSyncError("Stripe did not answer")
        if self.behaviour == "broken":
            raise RuntimeError("the adapter broke")
        services.sync_run_advance(run, total=3, processed=2, created=1, updated=1)
        if self.behaviour == "one_fails":
            services.sync_error_record(run, object_type="customer", external_id="cus_9", message="No email")
            services.sync_run_advance(run, processed=1, failed=1)
        else:
            services.sync_run_advance(run, processed=1, unchanged=1)


@pytest.fixture
def adapter(monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, Source.STRIPE, "tests.integrations.test_foundation.RecordingAdapter")
    RecordingAdapter.calls = []
    RecordingAdapter.behaviour = "ok"
    return RecordingAdapter


@pytest.fixture
def run_now(django_capture_on_commit_callbacks):
    """Requests a run and lets its task run at commit, as the worker would (tasks are eager in tests)."""

    def request(organization, kind=SyncKind.FULL):
        with django_capture_on_commit_callbacks(execute=True):
            run, _ = services.sync_request(organization=organization, source=Source.STRIPE, kind=kind)
        run.refresh_from_db()
        return run

    return request


@pytest.fixture
def stripe_connection(tenant, scope):
    return services.connection_update(
        tenant=tenant,
        source=Source.STRIPE,
        api_key=RESTRICTED_KEY,
        webhook_secret="whsec_signing_secret_1234",
        api_base_url="",
        enabled=True,
    )


# --- Connections --------------------------------------------------------------------------------------------------


def test_secrets_are_sealed_and_the_audit_says_only_that_they_changed(stripe_connection, scope):
    stored = Connection.objects.get(source=Source.STRIPE)
    assert RESTRICTED_KEY not in stored.api_key_sealed
    assert unseal(stored.api_key_sealed) == RESTRICTED_KEY
    entry = AuditEntry.objects.get(action="integration.stripe.updated")
    assert entry.changes["api_key"] == ["not set", "set"]
    assert RESTRICTED_KEY not in str(entry.changes)


def test_an_empty_secret_box_keeps_the_stored_secret_and_clearing_removes_it(stripe_connection, tenant, scope):
    services.connection_update(
        tenant=tenant, source=Source.STRIPE, api_key=None, webhook_secret="", api_base_url="", enabled=True
    )
    stored = Connection.objects.get(source=Source.STRIPE)
    assert unseal(stored.api_key_sealed) == RESTRICTED_KEY
    assert stored.webhook_secret_sealed == ""


def test_the_settings_page_never_shows_a_stored_secret(client_for, org, stripe_connection):
    admin = client_for(Role.ADMIN)
    page = admin.get(reverse("integration_settings", args=[org.slug, "stripe"]))
    assert page.status_code == 200
    assert RESTRICTED_KEY not in page.content.decode()
    assert "…9876" in page.content.decode()


@pytest.mark.parametrize(
    ("source", "webhook_path", "linked"),
    [
        ("stripe", "/webhooks/stripe/northwind/", ["revenue_plan_cohorts", "revenue_review_queue", "revenue_report"]),
        (
            "hubspot",
            "/webhooks/hubspot/northwind/",
            ["hubspot_stage_mapping", "hubspot_field_ownership", "hubspot_conflicts"],
        ),
    ],
)
def test_each_source_page_gives_its_webhook_address_and_links_its_own_pages(
    client_for, org, source, webhook_path, linked
):
    page = client_for(Role.ADMIN).get(reverse("integration_settings", args=[org.slug, source])).content.decode()
    assert webhook_path in page
    for name in linked:
        assert f'href="{reverse(name, args=[org.slug])}"' in page


def test_a_bad_api_address_is_refused_beside_its_field_and_nothing_is_saved(client_for, org, scope):
    admin = client_for(Role.ADMIN)
    page = admin.post(
        reverse("integration_settings", args=[org.slug, "hubspot"]),
        {"api_key": "pat-na1-abc", "webhook_secret": "", "api_base_url": "ftp://example", "enabled": "on"},
    )
    assert page.status_code == 400
    assert "Give a full address" in page.content.decode()
    assert not Connection.objects.filter(source=Source.HUBSPOT).exclude(api_key_sealed="").exists()


def test_testing_the_connection_keeps_each_check_for_the_page(client_for, org, adapter, stripe_connection):
    admin = client_for(Role.ADMIN)
    answer = admin.post(reverse("integration_test", args=[org.slug, "stripe"]), follow=True)
    assert "All 1 checks passed." in answer.content.decode()
    assert "key ends 9876" in answer.content.decode()


def test_testing_without_credentials_says_what_to_do(tenant, scope):
    checks = services.connection_test(tenant=tenant, source=Source.HUBSPOT)
    assert checks == [ConnectionCheck("Credentials", ok=False, detail="Save an API key or token first.")]


@pytest.mark.parametrize("role", [Role.CSM, Role.AE, Role.SUPPORT, Role.VIEWER])
def test_only_admins_reach_integration_settings(client_for, org, role):
    assert client_for(role).get(reverse("integration_settings", args=[org.slug, "stripe"])).status_code == 403


def test_another_organizations_admin_gets_404_for_settings_and_runs(client_for, org, other_org, adapter, scope):
    run = SyncRun.objects.create(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
    outsider = client_for(Role.ADMIN, organization=other_org)
    assert outsider.get(reverse("integration_settings", args=[org.slug, "stripe"])).status_code == 404
    # In their own organization, our run's id is not found either.
    assert outsider.get(reverse("integration_run", args=[other_org.slug, "stripe", run.pk])).status_code == 404


def test_an_unknown_source_is_not_found(client_for, org):
    assert client_for(Role.ADMIN).get(reverse("integration_settings", args=[org.slug, "salesforce"])).status_code == 404


# --- Runs and the lock --------------------------------------------------------------------------------------------


def test_a_run_counts_its_batches_and_finishes_succeeded(org, adapter, stripe_connection, scope, run_now):
    run = run_now(org)
    assert run.status == SyncStatus.SUCCEEDED
    assert (run.total, run.processed, run.created, run.updated, run.unchanged) == (3, 3, 1, 1, 1)
    assert run.progress_percent == 100


def test_a_failed_record_makes_the_run_partial_and_is_listed_with_it(
    client_for, org, adapter, stripe_connection, scope, run_now
):
    adapter.behaviour = "one_fails"
    run = run_now(org)
    assert run.status == SyncStatus.PARTIAL
    page = client_for(Role.ADMIN).get(reverse("integration_run", args=[org.slug, "stripe", run.pk]))
    assert "cus_9" in page.content.decode()
    assert "No email" in page.content.decode()


def test_a_broken_adapter_fails_the_run_with_its_error(org, adapter, stripe_connection, scope, run_now):
    adapter.behaviour = "broken"
    run = run_now(org)
    assert run.status == SyncStatus.FAILED
    assert run.error == "RuntimeError: the adapter broke"


def test_a_transient_error_leaves_the_run_open_for_the_retry_and_frees_the_lock(org, adapter, stripe_connection, scope):
    adapter.behaviour = "transient"
    run = SyncRun.objects.create(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
    with pytest.raises(TransientSyncError):
        services.sync_execute(organization=org, run=run)
    run.refresh_from_db()
    assert run.status == SyncStatus.RUNNING
    adapter.behaviour = "ok"
    assert services.sync_execute(organization=org, run=run).status == SyncStatus.SUCCEEDED


def test_a_finished_run_delivered_again_does_nothing(org, adapter, stripe_connection, scope, run_now):
    run = run_now(org)
    services.sync_execute(organization=org, run=run)
    assert adapter.calls == [run.pk]


def test_a_second_request_while_one_is_active_returns_the_active_run(org, stripe_connection, scope):
    first = SyncRun.objects.create(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
    again, created = services.sync_request(organization=org, source=Source.STRIPE, kind=SyncKind.INCREMENTAL)
    assert (again, created) == (first, False)


def test_a_run_whose_worker_went_silent_is_superseded(org, adapter, stripe_connection, scope, settings, run_now):
    stale = SyncRun.objects.create(
        organization=org,
        source=Source.STRIPE,
        kind=SyncKind.FULL,
        status=SyncStatus.RUNNING,
        started_at=timezone.now() - timedelta(hours=2),
        heartbeat_at=timezone.now() - timedelta(seconds=settings.SYNC_LOCK_TTL_SECONDS * 4),
    )
    run = run_now(org)
    stale.refresh_from_db()
    assert run != stale
    assert run.status == SyncStatus.SUCCEEDED
    assert stale.status == SyncStatus.FAILED
    assert "stopped answering" in stale.error


def test_the_lock_admits_one_holder_until_it_expires(org, scope, settings):
    expired = timezone.now() + timedelta(seconds=settings.SYNC_LOCK_TTL_SECONDS + 1)
    with services.sync_lock(organization=org, source=Source.HUBSPOT):
        with pytest.raises(services.SyncAlreadyRunning), services.sync_lock(organization=org, source=Source.HUBSPOT):
            pass
        # Another source of the same organization is not blocked.
        with services.sync_lock(organization=org, source=Source.STRIPE):
            pass
        # A holder that stopped renewing (a killed worker) loses the lock when it expires.
        with time_machine.travel(expired), services.sync_lock(organization=org, source=Source.HUBSPOT):
            pass
    with services.sync_lock(organization=org, source=Source.HUBSPOT):
        pass  # released on the way out


def test_a_run_taken_over_after_a_dead_worker_counts_its_pass_again(org, adapter, stripe_connection, scope):
    run = SyncRun.objects.create(
        organization=org,
        source=Source.STRIPE,
        kind=SyncKind.FULL,
        status=SyncStatus.RUNNING,
        started_at=timezone.now(),
        processed=2,
        created=2,
    )
    run = services.sync_execute(organization=org, run=run)
    assert (run.processed, run.created) == (3, 1)
    assert "resumed_at" in run.summary


def test_the_watermark_only_moves_forward(org, stripe_connection, scope):
    later, earlier = timezone.now(), timezone.now() - timedelta(hours=1)
    services.sync_watermark_advance(organization=org, source=Source.STRIPE, to=later)
    services.sync_watermark_advance(organization=org, source=Source.STRIPE, to=earlier)
    assert Connection.objects.get(source=Source.STRIPE).events_watermark == later


def test_the_runs_table_polls_only_while_a_run_is_active(client_for, org, scope):
    admin = client_for(Role.ADMIN)
    run = SyncRun.objects.create(
        organization=org, source=Source.STRIPE, kind=SyncKind.FULL, status=SyncStatus.RUNNING, total=200, processed=50
    )
    partial = admin.get(reverse("integration_runs", args=[org.slug, "stripe"])).content.decode()
    assert 'hx-trigger="every 2s"' in partial
    assert 'aria-valuenow="25"' in partial
    SyncRun.objects.filter(pk=run.pk).update(status=SyncStatus.SUCCEEDED, processed=200)
    partial = admin.get(reverse("integration_runs", args=[org.slug, "stripe"])).content.decode()
    assert "hx-trigger" not in partial


def test_sync_now_needs_credentials(client_for, org, scope):
    answer = client_for(Role.ADMIN).post(
        reverse("integration_sync", args=[org.slug, "hubspot"]), {"kind": "full"}, follow=True
    )
    assert "Save the HubSpot credentials first." in answer.content.decode()
    assert not SyncRun.objects.exists()


# --- Webhooks and links -------------------------------------------------------------------------------------------


def test_a_webhook_event_is_kept_once(org, scope):
    first, created = services.webhook_event_record(
        organization=org, source=Source.STRIPE, event_id="evt_1", event_type="invoice.paid", payload={"id": "evt_1"}
    )
    again, created_again = services.webhook_event_record(
        organization=org, source=Source.STRIPE, event_id="evt_1", event_type="invoice.paid", payload={"id": "evt_1"}
    )
    assert (created, created_again) == (True, False)
    assert again == first
    assert WebhookEvent.objects.count() == 1


def test_an_event_is_claimed_by_one_worker_only(org, scope):
    event, _ = services.webhook_event_record(
        organization=org, source=Source.HUBSPOT, event_id="77", event_type="contact.propertyChange", payload={}
    )
    claimed = services.webhook_event_claim(event.pk)
    assert claimed.status == WebhookStatus.PROCESSING
    assert services.webhook_event_claim(event.pk) is None  # a second worker with the same event
    services.webhook_event_done(claimed)
    assert services.webhook_event_claim(event.pk) is None


def test_an_event_whose_worker_died_mid_processing_can_be_claimed_again(org, scope):
    event, _ = services.webhook_event_record(
        organization=org, source=Source.STRIPE, event_id="evt_2", event_type="invoice.paid", payload={}
    )
    assert services.webhook_event_claim(event.pk) is not None
    later = timezone.now() + services.WEBHOOK_CLAIM_PATIENCE + timedelta(seconds=1)
    with time_machine.travel(later):
        again = services.webhook_event_claim(event.pk)
    assert again.attempts == 2


def test_rejected_deliveries_are_kept_without_an_id_and_many_may_exist(org, scope):
    for _ in range(2):
        services.webhook_event_reject(organization=org, source=Source.STRIPE, reason="Bad signature", body=b"{}")
    assert WebhookEvent.objects.filter(status=WebhookStatus.REJECTED, event_id="").count() == 2


def test_external_links_upsert_on_the_external_id(org, scope):
    services.external_records_touch(
        organization=org, source=Source.HUBSPOT, object_type="contact", links=[("501", 1, None)]
    )
    first_sync = ExternalRecord.objects.get().last_synced_at
    services.external_records_touch(
        organization=org, source=Source.HUBSPOT, object_type="contact", links=[("501", 1, timezone.now())]
    )
    record = ExternalRecord.objects.get()
    assert record.last_synced_at >= first_sync
    assert services.last_synced_at(object_type="contact", local_id=1) == {"hubspot": record.last_synced_at}


def test_a_synced_records_page_says_when_each_source_last_synced_it(client_for, org, scope):
    from tests.factories import AccountFactory, ContactFactory

    account = AccountFactory(organization=org)
    contact = ContactFactory(account=account)
    csm = client_for(Role.CSM)
    assert "synced" not in csm.get(reverse("account_detail", args=[org.slug, account.pk])).content.decode()
    services.external_records_touch(
        organization=org, source=Source.HUBSPOT, object_type="account", links=[("9001", account.pk, None)]
    )
    services.external_records_touch(
        organization=org, source=Source.STRIPE, object_type="account", links=[("cus_1", account.pk, None)]
    )
    page = csm.get(reverse("account_detail", args=[org.slug, account.pk])).content.decode()
    assert "HubSpot synced 0" in page
    assert "Stripe synced 0" in page
    # The contact was not synced: its page says nothing about it.
    assert "synced" not in csm.get(reverse("contact_detail", args=[org.slug, contact.pk])).content.decode()


def test_a_failed_run_shows_where_it_stopped_not_a_full_bar(org, scope):
    failed = SyncRun.objects.create(
        organization=org, source=Source.STRIPE, kind=SyncKind.FULL, status=SyncStatus.FAILED
    )
    assert failed.progress_percent == 0
    failed.total, failed.processed = 400, 100
    assert failed.progress_percent == 25
    done = SyncRun.objects.create(
        organization=org, source=Source.STRIPE, kind=SyncKind.FULL, status=SyncStatus.SUCCEEDED
    )
    assert done.progress_percent == 100


def test_touching_links_keeps_a_fingerprint_written_before(org, scope):
    services.external_records_touch(
        organization=org, source=Source.HUBSPOT, object_type="contact", links=[("7", 1, None)], fingerprints=["abc"]
    )
    services.external_records_touch(
        organization=org, source=Source.HUBSPOT, object_type="contact", links=[("7", 1, None)]
    )
    assert ExternalRecord.objects.get().pushed_fingerprint == "abc"


def test_a_turned_off_connection_does_not_sync_from_the_page(client_for, org, tenant, scope):
    services.connection_update(
        tenant=tenant, source=Source.HUBSPOT, api_key="pat-na1-x", webhook_secret=None, api_base_url="", enabled=False
    )
    answer = client_for(Role.ADMIN).post(
        reverse("integration_sync", args=[org.slug, "hubspot"]), {"kind": "incremental"}, follow=True
    )
    assert "turned off: turn it on to sync" in answer.content.decode()
    assert not SyncRun.objects.exists()


def test_a_runs_duration_reads_in_seconds_minutes_or_hours(org, scope):
    started = timezone.now()
    run = SyncRun(organization=org, source=Source.STRIPE, kind=SyncKind.FULL, started_at=started)
    for seconds, label in ((48, "48 s"), (192, "3 min 12 s"), (3840, "1 h 4 min")):
        run.finished_at = started + timedelta(seconds=seconds)
        assert run.duration_label == label


@pytest.mark.parametrize("name", ["stripe_webhook", "hubspot_webhook", "github_webhook", "inbound_email"])
def test_a_machine_endpoint_of_an_unknown_organization_is_a_plain_404(client, db, name):
    answer = client.post(
        reverse(name, kwargs={"organization": "nobody-here"}), data=b"{}", content_type="application/json"
    )
    assert answer.status_code == 404
    assert answer.json() == {"error": "No such organization."}


def test_a_run_is_refused_for_a_connection_without_credentials_or_turned_off(org, tenant, scope):
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="Save the Stripe credentials first"):
        services.sync_request(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
    services.connection_update(
        tenant=tenant, source=Source.STRIPE, api_key="rk_test_x", webhook_secret=None, api_base_url="", enabled=False
    )
    with pytest.raises(ApplicationError, match="turned off"):
        services.sync_request(organization=org, source=Source.STRIPE, kind=SyncKind.FULL)
    assert not SyncRun.objects.exists()
