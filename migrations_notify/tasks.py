"""Beat runs the campaigns' daily pass; each campaign's pass is its own task, claimed per day (services._claim)."""

from celery import shared_task
from django.db import transaction

from core.models import Organization
from core.tasks import TenantTask
from core.tenancy import tenant_scope
from migrations_notify.models import CampaignStatus, MigrationCampaign


@shared_task(name="migrations_notify.tasks.advance_campaigns_for_all_organizations")
def advance_campaigns_for_all_organizations() -> int:
    """Daily (CELERY_BEAT_SCHEDULE): one task per active campaign, each organization read in its own scope."""
    pairs = []
    for organization in Organization.objects.all():
        with tenant_scope(organization):
            ids = MigrationCampaign.objects.filter(status=CampaignStatus.ACTIVE).values_list("pk", flat=True)
            pairs += [(organization.pk, campaign_id) for campaign_id in ids]
    for organization_id, campaign_id in pairs:
        transaction.on_commit(lambda o=organization_id, c=campaign_id: advance_campaign.delay(o, c))
    return len(pairs)


@shared_task(base=TenantTask, name="migrations_notify.tasks.advance_campaign")
def advance_campaign(organization: Organization, campaign_id: int) -> list[str]:
    from migrations_notify.services import campaign_advance

    campaign = MigrationCampaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return []
    return [f"{run.kind}:{run.status}" for run in campaign_advance(campaign=campaign)]
