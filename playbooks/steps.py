"""What each kind of step does, once its StepRun has been claimed (playbooks.services runs these).

A step returns its result (a small JSON dict kept on the StepRun), raises StepSkipped when there is nothing to do
for this account (no contact to email), or StepError when it failed; `retryable=False` for a failure a retry cannot
fix (an address we refuse to call). `preview=True` renders what the step would do without doing it: the dry run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from accounts.models import Account, Cohort, Contact
from core.models import Organization, Role
from core.outbound_http import OutboundRefusedError, outbound_post
from core.tenancy import Tenant
from playbooks import definition as pdef
from playbooks.models import OutboundCall, Playbook, SentEmail, StepRun
from tickets.slack import slack_message_body


class StepSkipped(Exception):  # noqa: N818 (a skip is an outcome, not an error)
    pass


class StepError(Exception):
    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass
class StepContext:
    organization: Organization
    playbook: Playbook
    version_number: int
    account: Account
    contact: Contact | None
    step: dict[str, Any]
    step_run: StepRun | None  # None in a dry run
    enrollment_id: int | None = None

    @property
    def system(self) -> Tenant:
        # Playbooks act as the system: audit entries say "System", tasks are created by no member.
        return Tenant(organization=self.organization, role=Role.ADMIN)

    def merge(self) -> dict[str, dict[str, Any]]:
        account, contact, csm = self.account, self.contact, self.account.csm_owner
        return {
            "account": {
                "name": account.name, "domain": account.domain, "cohort": Cohort(account.cohort).label,
                "arr": account.arr, "currency": account.currency, "renewal_date": account.renewal_date,
                "codename": account.codename,
            },
            "contact": {
                "first_name": contact.first_name, "last_name": contact.last_name, "full_name": contact.full_name,
                "email": contact.email, "title": contact.title,
            }
            if contact
            else {},
            "csm": {"name": (csm.get_full_name() or csm.email), "first_name": csm.first_name, "email": csm.email}
            if csm
            else {},
            "playbook": {"name": self.playbook.name},
        }  # fmt: skip

    def render(self, key: str) -> str:
        return pdef.merge_render(self.step.get(key) or "", self.merge())


def _recipient(context: StepContext) -> str:
    to = context.step["to"]
    if to == "contact":
        if context.contact is None:
            raise StepSkipped("The account has no contact to email.")
        return context.contact.email
    owner = context.account.csm_owner if to == "csm" else context.account.ae_owner
    if owner is None or not owner.email:
        raise StepSkipped(f"The account has no {to.upper()} to email.")
    return owner.email


def run_email(context: StepContext, *, preview: bool = False) -> dict[str, Any]:
    to = _recipient(context)
    subject, body = context.render("subject")[:255], context.render("body")
    if preview:
        return {"to": to, "subject": subject, "body": body}
    send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[to])
    email = SentEmail.objects.create(
        organization=context.organization, step_run=context.step_run, playbook=context.playbook, to=to,
        subject=subject, body=body, sent_at=timezone.now(),
    )  # fmt: skip
    return {"to": to, "subject": subject, "sent_email_id": email.pk}


def _assignee(context: StepContext):
    assignee = context.step["assignee"]
    if assignee == "csm":
        return context.account.csm_owner
    if assignee == "ae":
        return context.account.ae_owner
    return context.contact.owner if context.contact else None


def run_task(context: StepContext, *, preview: bool = False) -> dict[str, Any]:
    assignee = _assignee(context)
    title = context.render("title")[:255]
    due_in = context.step.get("due_in_days")
    due_date = timezone.localdate() + timedelta(days=due_in) if due_in is not None else None
    who = (assignee.get_full_name() or assignee.email) if assignee else "nobody yet (no owner on the account)"
    if preview:
        return {"title": title, "assignee": who, "due_date": due_date.isoformat() if due_date else None}
    from lifecycle.services import task_create

    task = task_create(
        tenant=context.system, account=context.account, title=title, assignee=assignee, due_date=due_date,
        description=context.render("description"),
    )  # fmt: skip
    return {"task_id": task.pk, "title": title, "assignee": who}


def run_set_field(context: StepContext, *, preview: bool = False) -> dict[str, Any]:
    field, value = context.step["field"], context.render("value").strip()
    contacts = [context.contact] if context.contact else list(Contact.objects.filter(account=context.account))
    if not contacts:
        raise StepSkipped("The account has no contacts to update.")
    if preview:
        return {"field": field, "value": value, "contacts": [contact.email for contact in contacts]}
    from accounts.services import contact_update

    changed = []
    for contact in contacts:
        if field == "ffc_actions":
            # FFC-Actions is a list of tags (seed 000): add the tag once, keep the others.
            if value in (contact.ffc_actions or []):
                continue
            new_value: Any = [*(contact.ffc_actions or []), value]
        else:
            new_value = value
        contact_update(tenant=context.system, contact=contact, **{field: new_value})
        changed.append(contact.email)
    return {"field": field, "value": value, "contacts": changed}


def _post(context: StepContext, url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    try:
        response = outbound_post(url=url, body=body, headers=headers, timeout=OUTBOUND_TIMEOUT_SECONDS)
    except OutboundRefusedError as exc:
        OutboundCall.objects.create(
            organization=context.organization, step_run=context.step_run, attempt=context.step_run.attempts,
            target_host=_host(url), error=str(exc),
        )  # fmt: skip
        raise StepError(str(exc), retryable=False) from exc
    OutboundCall.objects.create(
        organization=context.organization, step_run=context.step_run, attempt=context.step_run.attempts,
        target_host=response.host, status_code=response.status, response_excerpt=response.excerpt,
        duration_ms=response.duration_ms, error=response.error,
    )  # fmt: skip
    if response.error:
        raise StepError(f"{response.host}: {response.error}")
    if not response.ok:
        raise StepError(f"{response.host} answered {response.status}: {response.excerpt[:200]}")
    return {"host": response.host, "status": response.status, "response": response.excerpt[:200]}


# Slack answers within a second; a receiver slower than this is treated as down and the step retried.
OUTBOUND_TIMEOUT_SECONDS = 10.0


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "")[:253]


def run_slack(context: StepContext, *, preview: bool = False) -> dict[str, Any]:
    text = context.render("text")
    if preview:
        return {"channel_host": _host(context.step["webhook_url"]), "text": text}
    body = slack_message_body(text)
    return {**_post(context, context.step["webhook_url"], body, {"Content-Type": "application/json"}), "text": text}


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>" with the playbook's secret; the timestamp lets a receiver refuse
    replays of an old call."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def run_webhook(context: StepContext, *, preview: bool = False) -> dict[str, Any]:
    account, contact = context.account, context.contact
    payload = {
        "playbook": {"id": context.playbook.pk, "name": context.playbook.name, "version": context.version_number},
        "enrollment": context.enrollment_id,
        "step": context.step_run.step_index if context.step_run else None,
        "account": {"id": account.pk, "name": account.name, "domain": account.domain, "cohort": account.cohort},
        "contact": {"id": contact.pk, "email": contact.email} if contact else None,
    }
    if preview:
        return {"host": _host(context.step["url"]), "payload": payload}
    body = json.dumps(payload, default=str).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Playbook-Timestamp": timestamp,
        "X-Playbook-Signature": webhook_signature(
            secret=context.playbook.webhook_secret, timestamp=timestamp, body=body
        ),
        # The same id on a retry, so the receiver can drop a duplicate delivery of one step.
        "X-Playbook-Delivery": f"{context.enrollment_id}-{payload['step']}",
    }
    return _post(context, context.step["url"], body, headers)


def run_wait(context: StepContext, *, preview: bool = False) -> dict[str, Any]:
    # The wait is the row's due_at (set when the row was created); running it only marks the wait over.
    return {"waited_seconds": pdef.wait_seconds(context.step)}


RUNNERS = {
    "email": run_email,
    "task": run_task,
    "slack": run_slack,
    "set_field": run_set_field,
    "webhook": run_webhook,
    "wait": run_wait,
}
