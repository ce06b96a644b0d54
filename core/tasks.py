"""The base for tenant tasks: they take an organization id and run inside that tenant's scope."""

from celery import Task

from core.models import Organization
from core.tenancy import tenant_scope


class TenantTask(Task):
    """Call as task.delay(organization_id, ...): the body runs with organization as its first argument, scoped."""

    def __call__(self, organization_id: int, *args, **kwargs):
        organization = Organization.objects.get(pk=organization_id)
        with tenant_scope(organization):
            return super().__call__(organization, *args, **kwargs)
