"""Celery entry points of the qbr app: thin, idempotent, scoped by core.tasks.TenantTask."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from core.models import Organization
from core.tasks import TenantTask
from core.tenancy import platform_scope


@shared_task(base=TenantTask, name="qbr.tasks.attendance_checks")
def attendance_checks(organization: Organization) -> int:
    """Seed 004: 48 hours before each meeting, has the customer accepted? Each check is claimed by compare-and-set."""
    from qbr.selectors import meetings_due_for_attendance_check
    from qbr.services import meeting_attendance_check

    now = timezone.now()
    made = 0
    for meeting in meetings_due_for_attendance_check(now=now)[:500]:
        made += meeting_attendance_check(meeting=meeting, now=now) is not None
    return made


@shared_task(name="qbr.tasks.attendance_checks_for_all_organizations")
def attendance_checks_for_all_organizations() -> int:
    """Every five minutes (CELERY_BEAT_SCHEDULE): one task per organization with a meeting in the next 48 hours."""
    from qbr.models import Meeting, MeetingStatus
    from qbr.rules import ATTENDANCE_CHECK_BEFORE

    now = timezone.now()
    with platform_scope():
        organization_ids = sorted(
            set(
                Meeting.objects.filter(
                    status=MeetingStatus.SCHEDULED,
                    attendance_checked_at__isnull=True,
                    starts_at__gt=now,
                    starts_at__lte=now + ATTENDANCE_CHECK_BEFORE,
                ).values_list("organization_id", flat=True)
            )
        )
    for organization_id in organization_ids:
        transaction.on_commit(lambda oid=organization_id: attendance_checks.delay(oid))
    return len(organization_ids)


@shared_task(base=TenantTask, name="qbr.tasks.propose_qbrs")
def propose_qbrs(organization: Organization) -> int:
    """Proposes the next QBR of each programme account without one; one open proposal per account (a constraint)."""
    from qbr.services import qbr_proposals_create

    return len(qbr_proposals_create(organization=organization))


@shared_task(name="qbr.tasks.propose_qbrs_for_all_organizations")
def propose_qbrs_for_all_organizations() -> int:
    """Daily (CELERY_BEAT_SCHEDULE): the quarterly schedule's proposals, for every organization."""
    with platform_scope():
        organization_ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    for organization_id in organization_ids:
        transaction.on_commit(lambda oid=organization_id: propose_qbrs.delay(oid))
    return len(organization_ids)
