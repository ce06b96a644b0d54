"""Machines calling in: inbound email from a provider's webhook (SendGrid, Mailgun, Postmark and the like post the
raw MIME), and GitHub telling us an escalated issue closed.

Not under /o/<slug>/: the caller is a machine with the organization's secret, not a signed-in member.
"""

import hashlib
import hmac
import json
import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.models import Organization
from core.secrets import unseal
from core.tenancy import machine_endpoint, tenant_scope
from tickets.escalation import escalation_closed
from tickets.inbound import email_receive
from tickets.services import support_settings_get

logger = logging.getLogger(__name__)
RAW_FIELDS = ("email", "body-mime", "RawEmail", "raw")


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
@machine_endpoint
def inbound_email(request, target: Organization) -> HttpResponse:
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


@csrf_exempt
@require_POST
@machine_endpoint
def github_webhook(request, target: Organization) -> HttpResponse:
    """GitHub's "issues" events (Content type application/json, signed with the organization's webhook secret).

    A closed issue closes its escalations; everything else (ping, other actions) is acknowledged with 204.
    """
    with tenant_scope(target):
        secret = unseal(support_settings_get(organization=target).github_webhook_secret_sealed)
        given = request.headers.get("X-Hub-Signature-256", "")
        expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not secret or not hmac.compare_digest(given.encode(), expected.encode()):
            logger.warning("GitHub webhook for %s refused: wrong or missing signature", target.slug)
            return _error("Wrong or missing X-Hub-Signature-256 (HMAC-SHA256 of the body with the webhook secret).")
        try:
            payload = _github_payload(request)
        except ValueError:
            logger.warning("GitHub webhook for %s refused: the body is not JSON", target.slug)
            return _error("The body is not JSON: set the webhook's content type to application/json.")
        event = request.headers.get("X-GitHub-Event", "")
        if event != "issues" or payload.get("action") != "closed":
            return HttpResponse(status=204)
        try:
            repository = str(payload["repository"]["full_name"])
            issue_number = int(payload["issue"]["number"])
        except (KeyError, TypeError, ValueError):
            return _error("An issues event needs repository.full_name and issue.number.")
        closed = escalation_closed(organization=target, repository=repository, issue_number=issue_number)
    return JsonResponse({"escalations_closed": closed}, status=200)


def _github_payload(request) -> dict:
    """The event as a dict; GitHub also offers form encoding, with the JSON in a "payload" field."""
    raw = request.POST.get("payload", "") if request.content_type == "application/x-www-form-urlencoded" else None
    payload = json.loads(request.body if raw is None else raw)
    if not isinstance(payload, dict):
        raise ValueError("not an object")
    return payload
