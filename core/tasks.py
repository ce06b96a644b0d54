"""The base for tenant tasks: they take an organization id and run inside that tenant's scope."""

from celery import Task, shared_task

from core.models import Organization
from core.tenancy import tenant_scope


class TenantTask(Task):
    """Call as task.delay(organization_id, ...): the body runs with organization as its first argument, scoped."""

    def __call__(self, organization_id: int, *args, **kwargs):
        organization = Organization.objects.get(pk=organization_id)
        with tenant_scope(organization):
            return super().__call__(organization, *args, **kwargs)

    def retry(self, args=None, kwargs=None, **options):
        # Celery's Task.__call__ records the arguments `run` got as the request's, so a plain retry would send the
        # Organization instead of its id (unserialisable on a broker; a TypeError when looked up again). Send the id.
        if args is None:
            args = tuple(self.request.args or ())
            if args and isinstance(args[0], Organization):
                args = (args[0].pk, *args[1:])
        return super().retry(args=args, kwargs=kwargs, **options)


@shared_task(base=TenantTask, name="core.tasks.deliver_notification_email")
def deliver_notification_email(organization: Organization, notification_id: int) -> bool:
    """Emails one notification; a notification deleted meanwhile is simply skipped."""
    from core.models import Notification
    from core.notifications import notification_email_send

    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    return notification_email_send(notification=notification) if notification else False
