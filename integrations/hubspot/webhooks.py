"""HubSpot calling in: POST /webhooks/hubspot/<organization slug>/, signed (v3) with that organization's app secret.

HubSpot's v3 signature is base64(HMAC-SHA256(secret, method + full URI + body + timestamp)), sent in
`X-HubSpot-Signature-v3` with the timestamp (epoch ms) in `X-HubSpot-Request-Timestamp`; a timestamp older than five
minutes is refused. The SDK's `hubspot.utils.signature.Signature.is_valid` does both checks; it is used as is.

A delivery is a JSON list of events. Each verified event is recorded once (unique on its eventId, so HubSpot's
retries are duplicates) and applied by a Celery task after the commit: the task re-fetches the object by id and
applies it with the sync's own upsert, so the event's content is never trusted beyond "this object changed".
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from hubspot.exceptions import InvalidSignatureTimestampError
from hubspot.utils.signature import Signature

from core.models import Organization
from core.tenancy import machine_endpoint, tenant_scope
from integrations.hubspot.client import hubspot_client
from integrations.hubspot.mapping import ACCOUNT, CONTACT, DEAL, HUBSPOT_OBJECT, PROPERTIES
from integrations.hubspot.services import HubSpotImporter
from integrations.models import Connection, Source, WebhookEvent, WebhookStatus
from integrations.services import (
    connection_get,
    connection_webhook_secret,
    external_records_by_id,
    webhook_event_record,
    webhook_event_reject,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
OBJECT_OF_SUBSCRIPTION = {"company": ACCOUNT, "contact": CONTACT, "deal": DEAL}
APPLIED_CHANGES = {"creation", "propertyChange", "associationChange", "restore"}


def _signed_uris(request) -> list[str]:
    """The URI HubSpot signed: the address it posts to. Behind a proxy that is SITE_URL's; directly, the request's."""
    uris = [settings.SITE_URL.rstrip("/") + request.get_full_path(), request.build_absolute_uri()]
    return list(dict.fromkeys(uris))


def signature_refusal(request, secret: str) -> str:
    """Why a delivery is refused ("" when its v3 signature is good and fresh)."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not secret:
        return "No app secret is saved for HubSpot, so no signature can be checked."
    if not signature or not timestamp:
        return f"The request has no {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} headers."
    body = request.body.decode("utf-8", "replace")
    try:
        for uri in _signed_uris(request):
            if Signature.is_valid(
                signature=signature,
                client_secret=secret,
                request_body=body,
                http_uri=uri,
                http_method=request.method,
                signature_version="v3",
                timestamp=timestamp,
            ):
                return ""
    except InvalidSignatureTimestampError:
        return "The timestamp is missing or older than five minutes (a replay?)."
    return "The v3 signature does not match this organization's app secret."


def _occurred_at(event: dict) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(event["occurredAt"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError):
        return None


@csrf_exempt
@require_POST
@machine_endpoint
def hubspot_webhook(request, target: Organization) -> HttpResponse:
    body = request.body
    with tenant_scope(target):
        secret = connection_webhook_secret(connection_get(organization=target, source=Source.HUBSPOT))
        refusal = signature_refusal(request, secret)
        events = None
        if not refusal:
            try:
                events = json.loads(body)
            except ValueError:
                refusal = "The body is not JSON."
            else:
                if isinstance(events, dict):
                    events = [events]
                if not isinstance(events, list) or not all(isinstance(e, dict) and e.get("eventId") for e in events):
                    refusal = "The body is not a list of HubSpot events."
        if refusal:
            webhook_event_reject(organization=target, source=Source.HUBSPOT, reason=refusal, body=body)
            return JsonResponse({"error": refusal}, status=400)
        new_events = []
        with transaction.atomic():
            for event in events:
                recorded, is_new = webhook_event_record(
                    organization=target,
                    source=Source.HUBSPOT,
                    event_id=str(event["eventId"]),
                    event_type=str(event.get("subscriptionType") or ""),
                    payload=event,
                    occurred_at=_occurred_at(event),
                )
                if is_new:
                    new_events.append(recorded.pk)
            if new_events:
                from integrations.hubspot.tasks import hubspot_webhook_event_apply

                organization_id = target.pk
                transaction.on_commit(
                    lambda: [hubspot_webhook_event_apply.delay(organization_id, pk) for pk in new_events]
                )
    return JsonResponse({"received": len(events), "new": len(new_events)}, status=200)


def webhook_event_apply(*, organization: Organization, event: WebhookEvent) -> tuple[str, str]:
    """(status, note) of applying one recorded event: re-fetch the object, apply it as a sync would."""
    payload = event.payload
    kind, _, change = str(payload.get("subscriptionType") or "").partition(".")
    object_type = OBJECT_OF_SUBSCRIPTION.get(kind)
    object_id = str(payload.get("objectId") or "")
    if object_type is None or not object_id:
        return WebhookStatus.IGNORED, f"Events of type {event.event_type or 'unknown'} are not followed."
    if change not in APPLIED_CHANGES:
        # Deletions and merges are left to a person: the record here keeps its history and its link.
        return WebhookStatus.IGNORED, f"{change or 'This change'} is not applied automatically."
    connection: Connection = connection_get(organization=organization, source=Source.HUBSPOT)
    if not connection.is_configured or not connection.enabled:
        return WebhookStatus.IGNORED, "The HubSpot connection is not set up or is turned off."
    link = external_records_by_id(source=Source.HUBSPOT, object_type=object_type, external_ids=[object_id]).get(
        object_id
    )
    if link and link.remote_updated_at and event.occurred_at and event.occurred_at < link.remote_updated_at:
        return WebhookStatus.IGNORED, "Older than the version already applied."
    client = hubspot_client(connection)
    remote = client.get_object(HUBSPOT_OBJECT[object_type], object_id, properties=PROPERTIES[object_type])
    if remote is None:
        return WebhookStatus.IGNORED, "HubSpot no longer has this object."
    importer = HubSpotImporter(organization=organization)
    if object_type in (CONTACT, DEAL):
        companies = client.associated_ids(HUBSPOT_OBJECT[object_type], "companies", [object_id]).get(object_id, [])
        remote.associations = {"companies": companies}
        if companies and not external_records_by_id(
            source=Source.HUBSPOT, object_type=ACCOUNT, external_ids=companies[:1]
        ):
            # Its company is new to us too: bring it first, so the association lands.
            company = client.get_object("companies", companies[0], properties=PROPERTIES[ACCOUNT])
            if company is not None:
                importer.import_batch(ACCOUNT, [company])
    result = importer.import_batch(object_type, [remote])
    notes = "; ".join(message for _, _, message in result.errors)
    if result.failed:
        return WebhookStatus.FAILED, notes
    if result.stale:
        return WebhookStatus.IGNORED, "Older than the version already applied."
    return WebhookStatus.PROCESSED, notes
