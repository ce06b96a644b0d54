"""A real Celery worker, on the real broker (Redis when REDIS_URL is set, else the embedded filesystem one)."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings

from accounts.models import CohortArrSnapshot
from accounts.tasks import snapshot_arr_by_cohort, snapshot_arr_by_cohort_for_all_organizations
from core.tenancy import tenant_scope
from cs_platform import celery_app
from tests.factories import AccountFactory, OrganizationFactory
from tests.fakes.celery_worker import running_worker, wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def worker():
    with running_worker():
        yield


@pytest.mark.django_db(transaction=True)
def test_worker_takes_a_task_from_the_broker_and_writes_the_snapshot(worker):
    organization = OrganizationFactory()
    AccountFactory(organization=organization, cohort="premium", arr=Decimal("24000"))
    AccountFactory(organization=organization, cohort="enterprise", arr=Decimal("120000"))
    day = "2026-11-01"

    def snapshots():
        with tenant_scope(organization):
            return {s.cohort: s.arr for s in CohortArrSnapshot.objects.filter(day=date(2026, 11, 1))}

    result = snapshot_arr_by_cohort.delay(organization.pk, day)
    assert result.id
    assert wait_for(lambda: len(snapshots()) == 4), f"the worker wrote nothing through {settings.CELERY_BROKER_URL}"
    assert snapshots()["premium"] == Decimal("24000.00")
    assert snapshots()["enterprise"] == Decimal("120000.00")

    AccountFactory(organization=organization, cohort="premium", arr=Decimal("1000"))
    snapshot_arr_by_cohort.delay(organization.pk, day)  # delivered twice: the same rows, updated
    assert wait_for(lambda: snapshots().get("premium") == Decimal("25000.00"))
    with tenant_scope(organization):
        assert CohortArrSnapshot.objects.filter(day=date(2026, 11, 1)).count() == 4


def test_the_nightly_schedule_names_a_registered_task():
    entry = settings.CELERY_BEAT_SCHEDULE["snapshot-arr-by-cohort-nightly"]
    assert entry["task"] in celery_app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {15})


def test_the_nightly_task_fans_out_to_every_organization(django_capture_on_commit_callbacks, db):
    organizations = [OrganizationFactory(), OrganizationFactory()]
    with django_capture_on_commit_callbacks(execute=True):
        assert snapshot_arr_by_cohort_for_all_organizations.delay().get() == 2
    for organization in organizations:
        with tenant_scope(organization):
            assert CohortArrSnapshot.objects.count() == 4
