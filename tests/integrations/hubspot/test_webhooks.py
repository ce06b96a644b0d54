"""HubSpot's v3 webhooks, signed with the SDK's own helper: verified, recorded once, applied in order."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hubspot.utils.signature import Signature

from accounts.models import Contact
from core.tenancy import tenant_scope
from integrations.hubspot.client import RemoteObject
from integrations.hubspot.services import HubSpotImporter
from integrations.hubspot.tasks import hubspot_webhook_event_apply
from integrations.models import ExternalRecord, Source, SyncKind, WebhookEvent, WebhookStatus
from integrations.services import connection_update
from tests.factories import ContactFactory, OrganizationFactory
from tests.integrations.hubspot.conftest import APP_SECRET


def webhook_url(slug: str) -> str:
    return f"/webhooks/hubspot/{slug}/"


def post_signed(client, slug, events, *, secret=APP_SECRET, timestamp=None, body=None, signed_body=None):
    """Posts events as HubSpot does: v3 signature over method + full URI + body + timestamp (the SDK's helper)."""
    body = body if body is not None else json.dumps(events)
    timestamp = str(int((timestamp or time.time()) * 1000))
    signature = Signature.get_signature(
        client_secret=secret,
        request_body=signed_body if signed_body is not None else body,
        signature_version="v3",
        http_uri=f"http://testserver{webhook_url(slug)}",
        http_method="POST",
        timestamp=timestamp,
    )
    return client.post(
        webhook_url(slug),
        data=body,
        content_type="application/json",
        headers={"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp},
    )


def event(event_id, object_id, *, kind="contact.propertyChange", occurred=None, **extra):
    occurred = occurred or datetime.now(UTC)
    return {
        "eventId": event_id,
        "subscriptionId": 77,
        "portalId": 123,
        "appId": 456,
        "occurredAt": int(occurred.timestamp() * 1000),
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": int(object_id),
        "changeSource": "CRM",
        **extra,
    }


@pytest.fixture
def synced(org, hubspot, run_sync):
    company = hubspot.add_company("Acme")
    ada = hubspot.add_contact("ada@acme.example", firstname="Ada", company=company)
    run_sync(SyncKind.FULL)
    return company, ada


def events_of(org):
    with tenant_scope(org):
        return list(WebhookEvent.objects.filter(source=Source.HUBSPOT).order_by("id"))


def test_a_signed_event_is_recorded_and_applied_from_a_fresh_read(
    client, org, hubspot, synced, django_capture_on_commit_callbacks
):
    _, ada = synced
    hubspot.update("contacts", ada.id, {"firstname": "Augusta"})
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(
            client, org.slug, [event(1001, ada.id, propertyName="firstname", propertyValue="ignored")]
        )
    assert response.status_code == 200
    [recorded] = events_of(org)
    assert (recorded.event_id, recorded.event_type, recorded.status) == ("1001", "contact.propertyChange", "processed")
    with tenant_scope(org):
        # The object was read again by id: HubSpot's state, not the event's propertyValue, is applied.
        assert Contact.objects.get(email="ada@acme.example").first_name == "Augusta"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ({"signed_body": json.dumps([event(1, 1)])}, "signature does not match"),
        ({"secret": "not-the-app-secret"}, "signature does not match"),
        ({"timestamp": time.time() - 6 * 60}, "older than five minutes"),
    ],
    ids=["tampered body", "wrong secret", "stale timestamp"],
)
def test_a_delivery_that_fails_verification_is_refused_and_kept(client, org, synced, tamper, reason):
    _, ada = synced
    response = post_signed(client, org.slug, [event(2002, ada.id)], **tamper)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    [rejected] = events_of(org)
    assert rejected.status == WebhookStatus.REJECTED
    assert reason in rejected.rejection_reason
    assert rejected.event_id == ""  # an unverified id is not trusted, nor deduplicated on
    assert "2002" in rejected.raw_body


def test_a_delivery_without_signature_headers_is_refused(client, org, synced):
    response = client.post(webhook_url(org.slug), data="[]", content_type="application/json")
    assert response.status_code == 400
    assert events_of(org)[0].status == WebhookStatus.REJECTED


def test_a_duplicate_event_is_applied_once(client, org, hubspot, synced, django_capture_on_commit_callbacks):
    _, ada = synced
    hubspot.update("contacts", ada.id, {"firstname": "Once"})
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(client, org.slug, [event(3003, ada.id)])
        assert response.status_code == 200
    assert response.json() == {"received": 1, "new": 0}
    assert len(events_of(org)) == 1
    assert hubspot.count("POST /crm/v3/objects/contacts/batch/read") == 1


def test_an_older_event_does_not_roll_back_a_newer_state(
    client, org, hubspot, synced, django_capture_on_commit_callbacks
):
    _, ada = synced
    before = datetime.now(UTC)
    hubspot.update("contacts", ada.id, {"firstname": "Newest"})
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, org.slug, [event(4002, ada.id, occurred=datetime.now(UTC))])
    # The event of an earlier change arrives late.
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, org.slug, [event(4001, ada.id, occurred=before - timedelta(minutes=1))])
    newer, older = events_of(org)
    assert newer.status == WebhookStatus.PROCESSED
    assert older.status == WebhookStatus.IGNORED
    assert "Older" in older.error
    with tenant_scope(org):
        assert Contact.objects.get(email="ada@acme.example").first_name == "Newest"


def test_an_object_version_older_than_the_one_applied_is_skipped(org, hubspot, synced):
    """However it arrives (a slow read, an overlap): its last-modified is compared with what we hold."""
    _, ada = synced
    with tenant_scope(org):
        held = ExternalRecord.objects.get(source=Source.HUBSPOT, object_type="contact", external_id=ada.id)
        stale = RemoteObject(
            id=ada.id,
            properties={**ada.properties, "firstname": "Rolled back"},
            updated_at=held.remote_updated_at - timedelta(seconds=5),
            associations={"companies": []},
        )
        result = HubSpotImporter(organization=org).import_batch("contact", [stale])
        assert (result.stale, result.updated) == (1, 0)
        assert Contact.objects.get(email="ada@acme.example").first_name == "Ada"


def test_a_webhook_to_one_organization_cannot_touch_another(
    client, org, hubspot, synced, system, django_capture_on_commit_callbacks
):
    _, ada = synced
    other = OrganizationFactory(slug="helios")
    with tenant_scope(other):
        theirs = ContactFactory(account__organization=other, email="ada@acme.example", first_name="Theirs")
        connection_update(
            tenant=system.__class__(organization=other, role=system.role),
            source=Source.HUBSPOT,
            api_key="pat-helios",
            webhook_secret="helios-secret",
            api_base_url=hubspot.base_url,
            enabled=True,
        )
    hubspot.update("contacts", ada.id, {"firstname": "Changed in A's portal"})
    # Signed with Helios' secret but sent to Northwind's address: refused.
    assert post_signed(client, org.slug, [event(5001, ada.id)], secret="helios-secret").status_code == 400
    # Signed for Northwind: applied to Northwind only.
    with django_capture_on_commit_callbacks(execute=True):
        assert post_signed(client, org.slug, [event(5002, ada.id)]).status_code == 200
    with tenant_scope(other):
        theirs.refresh_from_db()
        assert theirs.first_name == "Theirs"
        assert not WebhookEvent.objects.exists()
    with tenant_scope(org):
        assert Contact.objects.get(email="ada@acme.example").first_name == "Changed in A's portal"


def test_a_webhook_for_an_unknown_organization_is_404(client, db):
    assert client.post(webhook_url("nobody"), data="[]", content_type="application/json").status_code == 404


def test_a_new_contact_arrives_with_its_company(client, org, hubspot, synced, django_capture_on_commit_callbacks):
    globex = hubspot.add_company("Globex")
    grace = hubspot.add_contact("grace@globex.example", firstname="Grace", company=globex)
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, org.slug, [event(6001, grace.id, kind="contact.creation")])
    with tenant_scope(org):
        assert Contact.objects.get(email="grace@globex.example").account.name == "Globex"


def test_deletions_are_recorded_but_not_applied(client, org, synced, django_capture_on_commit_callbacks):
    _, ada = synced
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, org.slug, [event(7001, ada.id, kind="contact.deletion")])
    [deleted] = events_of(org)
    assert deleted.status == WebhookStatus.IGNORED
    with tenant_scope(org):
        assert Contact.objects.filter(email="ada@acme.example").exists()


def test_the_task_is_safe_to_deliver_twice(org, hubspot, synced, client, django_capture_on_commit_callbacks):
    _, ada = synced
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, org.slug, [event(8001, ada.id)])
    [recorded] = events_of(org)
    reads = hubspot.count("batch/read")
    assert hubspot_webhook_event_apply.apply(args=(org.pk, recorded.pk)).get() == "already handled"
    assert hubspot.count("batch/read") == reads
    assert hubspot_webhook_event_apply.acks_late is True
    assert hubspot_webhook_event_apply.reject_on_worker_lost is True
    assert hubspot_webhook_event_apply.soft_time_limit
    assert hubspot_webhook_event_apply.time_limit
