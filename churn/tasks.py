"""Tasks of the churn app: a case's ready steps run in the background after it opens, with retries on failure.

Redelivery is harmless: each step is claimed by compare-and-set (churn.services), so a task delivered twice finds
the step done, or running, and changes nothing.
"""

from celery import shared_task

from churn.models import ChurnCase, ChurnStep, StepStatus
from churn.services import AUTOMATIC_ATTEMPTS, churn_case_advance, churn_step_run, system_tenant
from core.models import Organization
from core.tasks import TenantTask


def _retry_later(task, organization: Organization, step: ChurnStep) -> None:
    """A failed step is tried again after 30 s, 2 min, 8 min; after that it waits for a person's "Run again".
    Not in eager mode (the tests), where a countdown would be an immediate loop."""
    if step.status == StepStatus.FAILED and step.attempts < AUTOMATIC_ATTEMPTS and not task.request.is_eager:
        retry_failed_step.apply_async((organization.pk, step.pk), countdown=30 * 4 ** (step.attempts - 1))


@shared_task(base=TenantTask, bind=True, name="churn.tasks.churn_case_advance_task")
def churn_case_advance_task(self, organization: Organization, case_id: int) -> list[str]:
    case = ChurnCase.objects.filter(pk=case_id).first()
    if case is None:
        return []
    ran = churn_case_advance(tenant=system_tenant(organization), case=case)
    for step in ran:
        _retry_later(self, organization, step)
    return [f"{step.kind}:{step.status}" for step in ran]


@shared_task(base=TenantTask, bind=True, name="churn.tasks.retry_failed_step")
def retry_failed_step(self, organization: Organization, step_id: int) -> str:
    step = ChurnStep.objects.select_related("case").filter(pk=step_id).first()
    if step is None or step.status != StepStatus.FAILED:
        return "nothing to do"
    tenant = system_tenant(organization)
    step = churn_step_run(tenant=tenant, step=step)
    if step.status == StepStatus.DONE:
        churn_case_advance(tenant=tenant, case=step.case)
    _retry_later(self, organization, step)
    return step.status
