"""Writing back to HubSpot what we own: FFC-Tier, FFC-Actions and FFC-Usage of contacts (seed 000, "Hubspot
Properties"), and the stage of a deal closed here.

A record is pushed when the values it should have in HubSpot no longer match the fingerprint kept on its
ExternalRecord (`pushed_fingerprint`: what HubSpot holds as far as we know, set by the import and by each push).
Unchanged records cost nothing but a comparison; changed ones go in batch updates of at most 100.

FFC-Tier is computed (mapping.ffc_tier_for): the cohort of the contact's account, our "team". When a contact is
first seen, the tier we compute then is adopted as the starting point, so a first sync does not overwrite the
tiers HubSpot already holds; from then on, a cohort move (or the contact moving to another account) is pushed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from accounts.models import Contact
from core.models import AuditEntry, Organization
from integrations.hubspot import mapping
from integrations.hubspot.client import BATCH_LIMIT, HubSpotApiError, HubSpotClient
from integrations.hubspot.mapping import CONTACT, DEAL
from integrations.hubspot_models import HubSpotRecordState, HubSpotStageMapping
from integrations.models import ExternalRecord, Source, SyncRun
from lifecycle.models import CLOSED_DEAL_STAGES, Deal, DealStage

logger = logging.getLogger(__name__)

SOURCE = Source.HUBSPOT
READ_CHUNK = 2000
MISSING = object()


def contact_pushed_values(contact: Contact) -> dict[str, Any]:
    """What HubSpot should hold of a contact's FFC properties, in our form."""
    return {
        "ffc_tier": mapping.ffc_tier_for([contact.account]) if contact.account_id else contact.ffc_tier,
        "ffc_actions": list(contact.ffc_actions or []),
        "ffc_usage": contact.ffc_usage,
    }


def contact_properties(values: dict[str, Any]) -> dict[str, str]:
    """Our form → HubSpot's properties, for the fields given."""
    properties = {}
    if "ffc_tier" in values:
        properties[mapping.FFC_TIER] = values["ffc_tier"]
    if "ffc_actions" in values:
        properties[mapping.FFC_ACTIONS] = mapping.ffc_actions_to_hubspot(values["ffc_actions"])
    if "ffc_usage" in values:
        properties[mapping.FFC_USAGE] = values["ffc_usage"]
    return properties


def _links(object_type: str) -> list[tuple[str, int, str]]:
    return list(
        ExternalRecord.objects.filter(source=SOURCE, object_type=object_type, local_id__isnull=False)
        .order_by("local_id")
        .values_list("external_id", "local_id", "pushed_fingerprint")
    )


def contacts_to_push(*, organization: Organization) -> list[tuple[str, Contact, dict[str, Any]]]:
    """[(HubSpot id, contact, {field: value to push})] of linked contacts whose FFC values changed here.

    The fingerprint on the link finds them without reading anything else; the record's state then says which of
    the three fields HubSpot does not hold yet, and only those are sent (a new FFC-Actions does not resend a tier).
    """
    pending = []
    links = _links(CONTACT)
    for first in range(0, len(links), READ_CHUNK):
        chunk = links[first : first + READ_CHUNK]
        contacts = Contact.objects.filter(pk__in=[local_id for _, local_id, _ in chunk]).select_related("account")
        by_pk = {contact.pk: contact for contact in contacts}
        changed = []
        for external_id, local_id, known in chunk:
            contact = by_pk.get(local_id)
            if contact is None:
                continue
            values = contact_pushed_values(contact)
            if mapping.fingerprint(values) != known:
                changed.append((external_id, contact, values))
        states = {
            state.external_id: state
            for state in HubSpotRecordState.objects.filter(
                object_type=CONTACT, external_id__in=[external_id for external_id, _, _ in changed]
            )
        }
        for external_id, contact, values in changed:
            held = states[external_id].pushed_values if external_id in states else {}
            fields = {name: value for name, value in values.items() if held.get(name, MISSING) != value}
            pending.append((external_id, contact, fields))
    return pending


def deals_to_push(*, organization: Organization) -> list[tuple[str, Deal, str]]:
    """[(HubSpot id, deal, fingerprint)] of linked deals closed here whose stage HubSpot does not have yet."""
    pending = []
    links = _links(DEAL)
    for first in range(0, len(links), READ_CHUNK):
        chunk = links[first : first + READ_CHUNK]
        deals = Deal.objects.filter(pk__in=[local_id for _, local_id, _ in chunk], stage__in=CLOSED_DEAL_STAGES)
        by_pk = {deal.pk: deal for deal in deals}
        for external_id, local_id, known in chunk:
            deal = by_pk.get(local_id)
            if deal is None:
                continue
            fingerprint = mapping.fingerprint({"stage": deal.stage})
            if fingerprint != known:
                pending.append((external_id, deal, fingerprint))
    return pending


def _hubspot_stage_ids() -> dict[tuple[str, str], str]:
    """(pipeline id, our closed stage) → the HubSpot stage id to move a deal to."""
    ids: dict[tuple[str, str], str] = {}
    for row in HubSpotStageMapping.objects.filter(stage__in=CLOSED_DEAL_STAGES).order_by("-hubspot_closed", "id"):
        ids.setdefault((row.pipeline_id, row.stage), row.stage_id)
    return ids


def _remember_pushed(object_type: str, pushed: dict[str, tuple[dict[str, Any], Any]]) -> None:
    """{HubSpot id: (values pushed, in our form; HubSpot's updated_at)}: both sides now hold these values."""
    states = list(HubSpotRecordState.objects.filter(object_type=object_type, external_id__in=list(pushed)))
    fingerprints = {}
    for state in states:
        values, _ = pushed[state.external_id]
        state.pushed_values = {**state.pushed_values, **values}
        state.remote_values = {**state.remote_values, **values}
        # Ours is kept only where it differs from HubSpot's: for these fields, it no longer does.
        state.local_values = {key: value for key, value in state.local_values.items() if key not in values}
        state.updated_at = timezone.now()
        fingerprints[state.external_id] = (
            mapping.fingerprint({name: state.pushed_values.get(name) for name in mapping.FFC_FIELDS})
            if object_type == CONTACT
            else mapping.fingerprint(values)
        )
    HubSpotRecordState.objects.bulk_update(states, ["pushed_values", "remote_values", "local_values", "updated_at"])
    links = list(ExternalRecord.objects.filter(source=SOURCE, object_type=object_type, external_id__in=list(pushed)))
    for link in links:
        _, updated_at = pushed[link.external_id]
        link.pushed_fingerprint = fingerprints.get(link.external_id, link.pushed_fingerprint)
        if updated_at and (link.remote_updated_at is None or updated_at > link.remote_updated_at):
            link.remote_updated_at = updated_at
    ExternalRecord.objects.bulk_update(links, ["pushed_fingerprint", "remote_updated_at"])


def writeback_push(*, organization: Organization, client: HubSpotClient, run: SyncRun | None = None) -> dict[str, int]:
    """Pushes changed FFC values and closed deals in batches of at most 100: {"pushed_contacts": n, …}."""
    from integrations.services import sync_error_record

    counts = {"pushed_contacts": 0, "pushed_deals": 0, "push_failed": 0}
    pending = contacts_to_push(organization=organization)
    for first in range(0, len(pending), BATCH_LIMIT):
        batch = pending[first : first + BATCH_LIMIT]
        inputs = [{"id": external_id, "properties": contact_properties(fields)} for external_id, _, fields in batch]
        try:
            updated = {obj.id: obj for obj in client.batch_update("contacts", inputs)}
        except HubSpotApiError as exc:
            counts["push_failed"] += len(batch)
            if run is not None:
                sync_error_record(run, object_type=CONTACT, external_id="", message=f"Write-back refused: {exc}")
            continue
        pushed, stored, audits = {}, [], []
        for external_id, contact, fields in batch:
            if external_id not in updated:
                counts["push_failed"] += 1
                if run is not None:
                    sync_error_record(
                        run, object_type=CONTACT, external_id=external_id, message="HubSpot no longer has this contact."
                    )
                continue
            pushed[external_id] = (fields, updated[external_id].updated_at)
            if "ffc_tier" in fields and contact.ffc_tier != fields["ffc_tier"]:
                # The contact's stored tier mirrors HubSpot's, which is now ours.
                audits.append(
                    AuditEntry(
                        organization=organization,
                        action="contact.updated",
                        object_type="contact",
                        object_id=contact.pk,
                        object_repr=str(contact)[:255],
                        account_id=contact.account_id,
                        changes={"ffc_tier": [contact.ffc_tier or None, fields["ffc_tier"]]},
                    )
                )
                contact.ffc_tier = fields["ffc_tier"]
                stored.append(contact)
        Contact.objects.bulk_update(stored, ["ffc_tier"])
        AuditEntry.objects.bulk_create(audits)
        _remember_pushed(CONTACT, pushed)
        counts["pushed_contacts"] += len(pushed)
    pending_deals = deals_to_push(organization=organization)
    stage_ids = _hubspot_stage_ids()
    states = {
        state.external_id: state
        for state in HubSpotRecordState.objects.filter(
            object_type=DEAL, external_id__in=[external_id for external_id, _, _ in pending_deals]
        )
    }
    inputs_of: list[tuple[str, Deal, str, dict[str, str]]] = []
    for external_id, deal, fingerprint in pending_deals:
        pipeline = (
            states.get(external_id).remote_values.get("pipeline") if external_id in states else None
        ) or "default"
        stage_id = stage_ids.get((pipeline, deal.stage))
        if not stage_id:
            counts["push_failed"] += 1
            if run is not None:
                sync_error_record(
                    run,
                    object_type=DEAL,
                    external_id=external_id,
                    message=f"No HubSpot stage of pipeline {pipeline} is mapped to {DealStage(deal.stage).label}.",
                )
            continue
        properties = {"dealstage": stage_id}
        if deal.stage == DealStage.CLOSED_LOST and deal.lost_reason:
            properties["closed_lost_reason"] = deal.lost_reason
        inputs_of.append((external_id, deal, fingerprint, properties))
    for first in range(0, len(inputs_of), BATCH_LIMIT):
        batch = inputs_of[first : first + BATCH_LIMIT]
        try:
            updated = {
                obj.id: obj
                for obj in client.batch_update(
                    "deals", [{"id": ext, "properties": props} for ext, _, _, props in batch]
                )
            }
        except HubSpotApiError as exc:
            counts["push_failed"] += len(batch)
            if run is not None:
                sync_error_record(run, object_type=DEAL, external_id="", message=f"Write-back refused: {exc}")
            continue
        pushed = {
            external_id: ({"stage": deal.stage}, updated[external_id].updated_at)
            for external_id, deal, _, _ in batch
            if external_id in updated
        }
        counts["push_failed"] += len(batch) - len(pushed)
        _remember_pushed(DEAL, pushed)
        counts["pushed_deals"] += len(pushed)
    return counts
