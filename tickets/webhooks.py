"""Inbound email from a provider's webhook (SendGrid, Mailgun, Postmark and the like post the raw MIME).

Not under /o/<slug>/: the caller is a machine with the organization's inbound secret, not a signed-in member.
"""

import hmac
import json
import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.models import Organization
from core.secrets import unseal
from core.tenancy import platform_scope, tenant_scope
from tickets.inbound import email_receive
from tickets.services import support_settings_get

logger = logging.getLogger(__name__)
RAW_FIELDS = ("email", "body-mime", "RawEmail", "raw")


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def inbound_email(request, organization: str) -> HttpResponse:
    with platform_scope():
        target = Organization.objects.filter(slug=organization).first()
    if target is None:
        return _error("No such organization.", status=404)
    with tenant_scope(target):
        secret = unseal(support_settings_get(organization=target).inbound_secret_sealed)
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or request.GET.get("token", "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            logger.warning("Inbound email for %s refused: wrong or missing secret", target.slug)
            return _error("Wrong or missing inbound secret (Authorization: Bearer <secret>).")
        raw = _raw_email(request)
        if not raw:
            return _error(f"No email in the request: post the raw message, or a form field named {RAW_FIELDS[0]}.")
        record = email_receive(organization=target, raw=raw)
    body = {"outcome": record.outcome, "ticket": record.ticket.number if record.ticket else None}
    if record.error:
        body["error"] = record.error
        return JsonResponse(body, status=400)
    return JsonResponse(body, status=200)


def _raw_email(request) -> bytes:
    content_type = request.content_type or ""
    if content_type in ("message/rfc822", "text/plain", "application/octet-stream"):
        return request.body
    if content_type == "application/json":
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return b""
        value = next((payload.get(field) for field in RAW_FIELDS if payload.get(field)), "")
        return value.encode() if isinstance(value, str) else b""
    for field in RAW_FIELDS:
        if request.POST.get(field):
            return request.POST[field].encode("utf-8", "surrogateescape")
        if field in request.FILES:
            return request.FILES[field].read()
    return b""
