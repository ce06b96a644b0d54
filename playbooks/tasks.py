"""Celery entry points of playbooks: thin, idempotent (every write below is a unique key or a compare-and-set),
scoped by core.tasks.TenantTask."""

from typing import Any

from celery import shared_task

from core.models import Organization
from core.tasks import TenantTask


@shared_task(name="playbooks.tasks.playbooks_tick_all_organizations")
def playbooks_tick_all_organizations() -> int:
    """Every minute (beat): one tick per organization that has an active playbook (a paused one's due steps wait)."""
    from core.tenancy import platform_scope
    from playbooks.models import Playbook, PlaybookStatus

    with platform_scope():
        organization_ids = list(
            Playbook.objects.filter(status=PlaybookStatus.ACTIVE).values_list("organization_id", flat=True).distinct()
        )
    for organization_id in organization_ids:
        playbooks_tick.delay(organization_id)
    return len(organization_ids)


@shared_task(base=TenantTask, name="playbooks.tasks.playbooks_tick")
def playbooks_tick(organization: Organization) -> int:
    """Fails claims whose worker died, enrolls by the time triggers, then runs what is due."""
    from playbooks import services

    services.step_runs_stale_fail()
    services.time_triggers_evaluate(organization=organization)
    return services.step_runs_due_run(organization=organization)


@shared_task(base=TenantTask, name="playbooks.tasks.playbook_run_due")
def playbook_run_due(organization: Organization) -> int:
    """Runs what is due now (after an enrollment or a retry), instead of waiting for the next minute."""
    from playbooks import services

    return services.step_runs_due_run(organization=organization)


@shared_task(base=TenantTask, name="playbooks.tasks.playbook_event_received")
def playbook_event_received(organization: Organization, message: dict[str, Any]) -> int:
    """A domain event (core.events): enroll where a trigger matches, then run the first steps due now."""
    from core.events import DomainEvent
    from playbooks import services

    enrolled = services.playbook_event_handle(event=DomainEvent.from_message(message))
    if enrolled:
        services.step_runs_due_run(organization=organization)
    return enrolled
