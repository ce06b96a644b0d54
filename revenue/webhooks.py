"""Stripe calling in: POST /webhooks/stripe/<organization slug>/, signed with that organization's endpoint secret.

Not under /o/<slug>/ (the caller is Stripe, not a member), and the URL keyword is `organization`, not `org_slug`,
so the tenancy middleware does not ask for a login. The view verifies the signature on the raw body with the SDK,
records the event once (unique on its id) and answers 200 at once; a Celery task applies it after the commit.
A refused delivery is answered 400 and recorded as rejected.
"""

import json

import stripe
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.models import Organization
from core.tenancy import machine_endpoint, tenant_scope
from integrations.models import Source
from integrations.services import (
    connection_get,
    connection_webhook_secret,
    webhook_event_record,
    webhook_event_reject,
)
from revenue.sync import stripe_time

SIGNATURE_TOLERANCE_SECONDS = stripe.Webhook.DEFAULT_TOLERANCE  # 5 minutes, Stripe's own default


@csrf_exempt
@require_POST
@machine_endpoint
def stripe_webhook(request, target: Organization) -> HttpResponse:
    body = request.body
    with tenant_scope(target):
        secret = connection_webhook_secret(connection_get(organization=target, source=Source.STRIPE))
        try:
            stripe.WebhookSignature.verify_header(
                body, request.headers.get("Stripe-Signature"), secret, SIGNATURE_TOLERANCE_SECONDS
            )
            event = json.loads(body)
            if not isinstance(event, dict) or not event.get("id") or event.get("object") != "event":
                raise ValueError("The body is not a Stripe event.")
        except (stripe.SignatureVerificationError, ValueError) as exc:
            webhook_event_reject(organization=target, source=Source.STRIPE, reason=str(exc), body=body)
            return JsonResponse({"error": str(exc)}, status=400)
        with transaction.atomic():
            recorded, is_new = webhook_event_record(
                organization=target,
                source=Source.STRIPE,
                event_id=str(event["id"]),
                event_type=str(event.get("type") or ""),
                payload=event,
                occurred_at=stripe_time(event.get("created")),
            )
            if is_new:
                from revenue.tasks import stripe_webhook_apply

                organization_id, event_pk = target.pk, recorded.pk
                transaction.on_commit(lambda: stripe_webhook_apply.delay(organization_id, event_pk))
    return JsonResponse({"received": True, "duplicate": not is_new}, status=200)
