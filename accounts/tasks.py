"""Celery entry points for accounts: thin, idempotent, scoped by core.tasks.TenantTask."""

from datetime import date

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from accounts.services import cohort_arr_snapshot_take
from core.models import Organization
from core.tasks import TenantTask


@shared_task(base=TenantTask, name="accounts.tasks.snapshot_arr_by_cohort")
def snapshot_arr_by_cohort(organization: Organization, day_iso: str | None = None) -> int:
    """One organization's ARR per cohort for the day; rerunning overwrites the same rows."""
    day = date.fromisoformat(day_iso) if day_iso else timezone.localdate()
    return len(cohort_arr_snapshot_take(organization=organization, day=day))


@shared_task(name="accounts.tasks.snapshot_arr_by_cohort_for_all_organizations")
def snapshot_arr_by_cohort_for_all_organizations() -> int:
    """Nightly (CELERY_BEAT_SCHEDULE): fans out one task per organization, enqueued after commit."""
    day_iso = timezone.localdate().isoformat()
    organization_ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in organization_ids:
        transaction.on_commit(lambda oid=organization_id: snapshot_arr_by_cohort.delay(oid, day_iso))
    return len(organization_ids)
