"""Reads for the HubSpot settings pages."""

from integrations.hubspot_models import HubSpotConflict, HubSpotStageMapping

RECENT_CONFLICTS = 200


def stage_mappings() -> list[HubSpotStageMapping]:
    return list(HubSpotStageMapping.objects.all())


def conflicts_recent(*, limit: int = RECENT_CONFLICTS) -> list[HubSpotConflict]:
    return list(HubSpotConflict.objects.order_by("-detected_at", "-id")[:limit])
