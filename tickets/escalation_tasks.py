"""Celery entry points of escalations: the periodic check that catches a GitHub webhook that never arrived."""

from celery import shared_task
from django.db import transaction

from core.models import Organization
from core.tasks import TenantTask
from core.tenancy import platform_scope
from tickets.escalation import escalations_refresh
from tickets.models import Escalation


@shared_task(base=TenantTask, name="tickets.escalation_tasks.refresh_escalations")
def refresh_escalations(organization: Organization) -> int:
    """Asks GitHub about the organization's open escalations; closing is a compare-and-set, so reruns are harmless."""
    return escalations_refresh(organization=organization)


@shared_task(name="tickets.escalation_tasks.refresh_escalations_for_all_organizations")
def refresh_escalations_for_all_organizations() -> int:
    """Every 15 minutes (CELERY_BEAT_SCHEDULE): one task per organization that has an open escalation."""
    with platform_scope():
        organization_ids = sorted(
            set(Escalation.objects.filter(state=Escalation.State.OPEN).values_list("organization_id", flat=True))
        )
    for organization_id in organization_ids:
        transaction.on_commit(lambda oid=organization_id: refresh_escalations.delay(oid))
    return len(organization_ids)
