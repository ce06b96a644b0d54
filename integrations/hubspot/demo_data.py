"""Demo HubSpot for seed_demo: a portal connection (turned off, so the demo never calls HubSpot), its deal stages
mapped through the same service a sync uses, most accounts, contacts and deals linked to HubSpot ids, a few runs,
webhook deliveries (one refused) and the ownership conflicts the last runs resolved.

What a sync would have written is written here directly, in one place: a run cannot be replayed without HubSpot."""

import random
from datetime import timedelta

from django.utils import timezone

from accounts.models import Account, Contact
from core.models import Organization, Role
from core.tenancy import Tenant
from integrations.hubspot.services import stage_mappings_refresh
from integrations.hubspot_models import FieldOwner, HubSpotConflict
from integrations.models import ExternalRecord, Source, SyncKind, SyncRun, SyncStatus, WebhookEvent, WebhookStatus
from integrations.services import (
    connection_update,
    sync_error_record,
    sync_watermark_advance,
    webhook_event_record,
    webhook_event_reject,
)
from lifecycle.models import Deal

# HubSpot's default sales pipeline: its stage ids and labels as a portal returns them.
DEFAULT_PIPELINE = {
    "id": "default",
    "label": "Sales Pipeline",
    "stages": [
        {"id": "appointmentscheduled", "label": "Appointment Scheduled", "closed": False},
        {"id": "qualifiedtobuy", "label": "Qualified To Buy", "closed": False},
        {"id": "presentationscheduled", "label": "Presentation Scheduled", "closed": False},
        {"id": "decisionmakerboughtin", "label": "Decision Maker Bought-In", "closed": False},
        {"id": "contractsent", "label": "Contract Sent", "closed": False},
        {"id": "closedwon", "label": "Closed Won", "closed": True},
        {"id": "closedlost", "label": "Closed Lost", "closed": True},
    ],
}
LINKED_SHARE = 0.8  # most of the book came from HubSpot; the rest was entered here


def seed_hubspot(*, organization: Organization, members: dict, rng: random.Random) -> None:
    if ExternalRecord.objects.filter(source=Source.HUBSPOT).exists():
        return  # seeded before
    now = timezone.now()
    connection_update(
        tenant=Tenant(organization=organization, role=Role.ADMIN),
        source=Source.HUBSPOT,
        api_key=f"pat-eu1-demo-{organization.slug}-0000-0000",
        webhook_secret=f"demo-app-secret-{organization.slug}",
        api_base_url="",
        enabled=False,
    )
    stage_mappings_refresh(organization=organization, pipelines=[DEFAULT_PIPELINE])
    full_at = now.replace(hour=2, minute=30, second=0, microsecond=0)
    if full_at > now:
        full_at -= timedelta(days=1)
    linked = {
        "account": _link(organization, Account.objects.order_by("id"), "100", rng, full_at),
        "contact": _link(organization, Contact.objects.order_by("id"), "500", rng, full_at),
        "deal": _link(organization, Deal.objects.order_by("id"), "900", rng, full_at),
    }
    total = sum(len(ids) for ids in linked.values())
    # What the nightly reconcile found: a few new records, some changed, the rest as they were.
    created, updated = min(rng.randint(3, 9), total // 10), min(rng.randint(20, 40), total // 3)
    full = _run(
        organization, SyncKind.FULL, SyncStatus.SUCCEEDED, full_at, seconds=31, total=total,
        processed=total, created=created, updated=updated, unchanged=total - created - updated,
        summary={"requests": 12 + total // 100, "rate_limited": 0, "conflicts": 2, "pushed_contacts": 14},
    )  # fmt: skip
    partial_at = now - timedelta(minutes=18)
    partial = _run(
        organization, SyncKind.INCREMENTAL, SyncStatus.PARTIAL, partial_at, seconds=4, total=23,
        processed=23, updated=20, unchanged=2, failed=1,
        summary={"read_since": (full_at - timedelta(minutes=10)).isoformat(), "requests": 4, "conflicts": 1},
    )  # fmt: skip
    sync_error_record(
        partial,
        object_type="contact",
        external_id="5009913",
        message="Another contact here already has the email ops@kessler-robotics.example: merge them in HubSpot.",
    )
    _run(
        organization, SyncKind.INCREMENTAL, SyncStatus.FAILED, now - timedelta(days=1, hours=4), seconds=90,
        error="HubSpot kept answering 429 after 6 tries (secondly limit); the next run read the changes.",
    )  # fmt: skip
    _conflicts(organization, full, partial, rng)
    _webhooks(organization, linked["contact"], now)
    sync_watermark_advance(organization=organization, source=Source.HUBSPOT, to=partial_at)


def _link(organization, queryset, prefix: str, rng: random.Random, synced_at) -> list[tuple[str, int]]:
    """Links most of the rows to a HubSpot id (and the object's own column), as a full sync leaves them."""
    rows = [pk for pk in queryset.values_list("pk", flat=True) if rng.random() < LINKED_SHARE]
    object_type = queryset.model._meta.model_name
    pairs = [(f"{prefix}{pk:05d}", pk) for pk in rows]
    ExternalRecord.objects.bulk_create(
        [
            ExternalRecord(
                organization=organization,
                source=Source.HUBSPOT,
                object_type=object_type,
                external_id=external_id,
                local_id=pk,
                remote_updated_at=synced_at - timedelta(days=rng.randint(1, 60)),
                last_synced_at=synced_at,
            )
            for external_id, pk in pairs
        ]
    )
    column = {"account": "hubspot_company_id", "contact": "hubspot_contact_id", "deal": "hubspot_deal_id"}[object_type]
    records = queryset.model.objects.in_bulk([pk for _, pk in pairs])
    for external_id, pk in pairs:
        setattr(records[pk], column, external_id)
    queryset.model.objects.bulk_update(list(records.values()), [column], batch_size=500)
    return pairs


def _run(organization, kind, status, started_at, *, seconds: int, **values) -> SyncRun:
    finished_at = started_at + timedelta(seconds=seconds)
    run = SyncRun.objects.create(
        organization=organization, source=Source.HUBSPOT, kind=kind, status=status, started_at=started_at,
        finished_at=finished_at, heartbeat_at=finished_at, **values,
    )  # fmt: skip
    SyncRun.objects.filter(pk=run.pk).update(requested_at=started_at - timedelta(seconds=2))
    return run


def _conflicts(organization, full: SyncRun, partial: SyncRun, rng: random.Random) -> None:
    contacts = list(Contact.objects.exclude(hubspot_contact_id="").select_related("account")[:3])
    examples = [
        ("title", "Head of Automation", "VP Operations", FieldOwner.HUBSPOT, full),
        ("ffc_usage", "12 instances, 4 devices", "9 instances", FieldOwner.PLATFORM, full),
        ("lifecycle_stage", "customer", "opportunity", FieldOwner.HUBSPOT, partial),
    ]
    for contact, (field, ours, theirs, winner, run) in zip(contacts, examples, strict=False):
        HubSpotConflict.objects.create(
            organization=organization, run=run, object_type="contact", external_id=contact.hubspot_contact_id,
            local_id=contact.pk, record_label=str(contact), field=field, local_value=ours, remote_value=theirs,
            winner=winner, detected_at=(run.started_at or timezone.now()) + timedelta(seconds=rng.randint(2, 20)),
        )  # fmt: skip


def _webhooks(organization, contacts: list[tuple[str, int]], now) -> None:
    for minutes, (external_id, _) in zip((7, 26, 55), contacts[:3], strict=False):
        at = now - timedelta(minutes=minutes)
        event_id = f"{external_id}{minutes}"
        event, _ = webhook_event_record(
            organization=organization, source=Source.HUBSPOT, event_id=event_id,
            event_type="contact.propertyChange",
            payload={"eventId": int(event_id), "subscriptionType": "contact.propertyChange",
                     "objectId": int(external_id), "propertyName": "jobtitle",
                     "occurredAt": int(at.timestamp() * 1000)},
            occurred_at=at,
        )  # fmt: skip
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookStatus.PROCESSED,
            received_at=at + timedelta(seconds=1),
            processed_at=at + timedelta(seconds=3),
        )
    rejected = webhook_event_reject(
        organization=organization,
        source=Source.HUBSPOT,
        reason="The request is older than five minutes (X-HubSpot-Request-Timestamp).",
        body=b'[{"eventId": 1, "subscriptionType": "contact.creation", "objectId": 501}]',
    )
    WebhookEvent.objects.filter(pk=rejected.pk).update(received_at=now - timedelta(hours=3, minutes=12))
