"""Celery entry points for health: thin and idempotent (a recompute replaces the day's row), scoped by TenantTask."""

from celery import shared_task
from django.db import transaction

from core.models import Organization
from core.tasks import TenantTask
from health.services import health_compute


@shared_task(base=TenantTask, name="health.tasks.health_recompute_account")
def health_recompute_account(organization: Organization, account_id: int) -> int:
    """One account whose inputs changed (core.events); an account deleted or churned meanwhile scores nothing."""
    return health_compute(organization=organization, account_ids=[account_id]).scored


@shared_task(base=TenantTask, name="health.tasks.health_recompute_organization")
def health_recompute_organization(organization: Organization) -> int:
    return health_compute(organization=organization).scored


@shared_task(name="health.tasks.health_recompute_all_organizations")
def health_recompute_all_organizations() -> int:
    """Nightly (CELERY_BEAT_SCHEDULE): one set-based recompute per organization, enqueued after commit."""
    organization_ids = list(Organization.objects.values_list("pk", flat=True))
    for organization_id in organization_ids:
        transaction.on_commit(lambda oid=organization_id: health_recompute_organization.delay(oid))
    return len(organization_ids)
