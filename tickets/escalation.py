"""Escalating a ticket as a bug in the organization's GitHub repository, and following the issue until it closes.

Seed 000, "Escalation": reproduce the bug, raise an issue in GitHub that references the support ticket but does not
name the customer, add the issue URL to the ticket and share it with the customer; the ticket is not closed until
the bug is resolved. Seed 003, "File a customer bug report": the customer appears only as its codename label, and
the report carries the version, the environment, expected and actual behaviour and the steps to reproduce.
"""

import json
import logging
import re
import urllib.error
import urllib.request
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from core.models import Organization, Role
from core.notifications import notification_send
from core.secrets import secret_change, unseal
from core.services import audit_record
from core.tenancy import Tenant
from tickets.models import Escalation, Message, Status, SupportSettings, Ticket
from tickets.services import conversation_event, support_settings_get, ticket_reply

logger = logging.getLogger(__name__)

# Seed 003: 'Search GitHub issues for label:bug and label:customer-codename', and when filing a customer bug
# report, 'Include a "customer-codename" label'. The codename stands in for the customer in public.
ISSUE_LABELS = ("bug",)
CODENAME_LABEL = "customer-{codename}"

GITHUB_TIMEOUT_SECONDS = 10
GITHUB_API_VERSION = "2022-11-28"
# GitHub: an owner is 1-39 letters, digits or hyphens (not starting with one); a repository name is letters,
# digits, ".", "_" and "-", up to 100.
REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
ISSUE_TITLE_MAX = 256
LABEL_MAX = 50

REPORT_FIELDS = (
    ("version", "Version"),
    ("environment", "Environment"),
    ("expected", "Expected behaviour"),
    ("actual", "Actual behaviour"),
    ("steps", "Steps to reproduce"),
)


class GitHubUnreachableError(Exception):
    """No HTTP answer at all: DNS, refused connection, TLS, timeout."""


# --- Settings -------------------------------------------------------------------------------------------------


@transaction.atomic
def github_settings_update(
    *, tenant: Tenant, repository: str, api_url: str, token: str | None, webhook_secret: str | None
) -> SupportSettings:
    """Repository as owner/name and the API address; token and webhook secret are stored sealed (None keeps the
    stored one, "" clears it). The audit entry says a secret changed, never its value."""
    repository = (repository or "").strip().strip("/")
    api_url = (api_url or "").strip().rstrip("/")
    errors: dict[str, list[str]] = {}
    if repository and (not REPOSITORY.match(repository) or repository.split("/")[1] in (".", "..")):
        errors["repository"] = [f"Write the repository as owner/name, for example acme/platform (not “{repository}”)."]
    try:
        URLValidator(schemes=["https", "http"])(api_url)
    except ValidationError:
        errors["api_url"] = ["Give the API address, https://api.github.com unless you run GitHub Enterprise."]
    if errors:
        raise ValidationError(errors)
    support_settings = support_settings_get(organization=tenant.organization)
    support_settings = SupportSettings.objects.select_for_update().get(pk=support_settings.pk)
    changes: dict[str, list[Any]] = {}
    if repository != support_settings.github_repository:
        changes["github_repository"] = [support_settings.github_repository, repository]
    if api_url != support_settings.github_api_url:
        changes["github_api_url"] = [support_settings.github_api_url, api_url]
    support_settings.github_repository = repository
    support_settings.github_api_url = api_url
    support_settings.github_token_sealed, token_change = secret_change(support_settings.github_token_sealed, token)
    support_settings.github_webhook_secret_sealed, webhook_secret_change = secret_change(
        support_settings.github_webhook_secret_sealed, webhook_secret
    )
    if token_change:
        changes["github_token"] = token_change
    if webhook_secret_change:
        changes["github_webhook_secret"] = webhook_secret_change
    # Only these columns: the same row also hands out ticket numbers.
    support_settings.save(
        update_fields=["github_repository", "github_api_url", "github_token_sealed", "github_webhook_secret_sealed"]
    )
    if changes:
        audit_record(tenant=tenant, action="support_settings.github_updated", obj=support_settings, changes=changes)
    return support_settings


# --- Talking to GitHub ----------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the token to whatever host GitHub (or a spoofed answer) names; a moved repository
    # is reported instead, and the admin enters its new name.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _github_call(*, url: str, token: str, method: str = "GET", payload: dict | None = None) -> tuple[int, Any]:
    """(HTTP status, decoded JSON or None); GitHubUnreachableError when no answer came back."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": GITHUB_API_VERSION,
        "User-Agent": "cs-platform-escalation",
    }
    data = None
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (the GitHub API the admin set)
    try:
        with _opener.open(request, timeout=GITHUB_TIMEOUT_SECONDS) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _json(exc.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise GitHubUnreachableError(str(reason)) from exc


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def _github_refusal(status: int, payload: Any, repository: str) -> str:
    """One sentence for an agent or an admin: what GitHub answered and what to do about it."""
    message = payload.get("message", "") if isinstance(payload, dict) else ""
    details = []
    for error in payload.get("errors", []) if isinstance(payload, dict) else []:
        if isinstance(error, dict):
            details.append(error.get("message") or " ".join(str(error.get(key, "")) for key in ("field", "code")))
        else:
            details.append(str(error))
    known = {
        301: f"{repository} has moved: enter its new owner/name in the GitHub settings",
        307: f"{repository} has moved: enter its new owner/name in the GitHub settings",
        401: "the token is wrong or expired",
        403: f"the token may not do this in {repository} (it needs Issues: read and write), or a rate limit was hit",
        404: f"{repository} does not exist or the token cannot see it",
        410: f"issues are turned off in {repository}",
    }
    explanation = known.get(status)
    said = ": ".join(
        part for part in (message, "; ".join(detail.strip() for detail in details if detail.strip())) if part
    )
    if explanation:
        return f"GitHub answered {status}: {explanation}" + (f" (GitHub said: {said})." if said else ".")
    return f"GitHub answered {status}: {said or 'an unexpected error'}."


def _configured(support_settings: SupportSettings) -> tuple[str, str]:
    """The repository and the clear token, or a ValidationError saying what is missing."""
    if not support_settings.github_repository:
        raise ValidationError({"repository": ["Connect a GitHub repository first (Settings, GitHub)."]})
    token = unseal(support_settings.github_token_sealed)
    if not token:
        raise ValidationError(
            {"token": ["Enter a GitHub token in the settings (a stored one may predate a change of secret key)."]}
        )
    return support_settings.github_repository, token


def github_connection_test(*, organization: Organization) -> tuple[bool, str]:
    """Reads the repository with the stored token and says in a sentence what works and what does not."""
    support_settings = support_settings_get(organization=organization)
    try:
        repository, token = _configured(support_settings)
    except ValidationError as exc:
        return False, " ".join(exc.messages)
    api_url = support_settings.github_api_url.rstrip("/")
    try:
        status, payload = _github_call(url=f"{api_url}/repos/{repository}", token=token)
    except GitHubUnreachableError as exc:
        return False, f"GitHub could not be reached at {api_url}: {exc}."
    if status != 200 or not isinstance(payload, dict):
        return False, _github_refusal(status, payload, repository)
    name = payload.get("full_name") or repository
    if not payload.get("has_issues", True):
        return False, f"Connected to {name}, but its issues are turned off: escalations need them."
    permissions = payload.get("permissions")
    if isinstance(permissions, dict) and not any(
        permissions.get(key) for key in ("triage", "push", "maintain", "admin")
    ):
        # GitHub silently drops the labels of an issue opened without triage access: no bug or codename label.
        return True, f"Connected to {name}: issues enabled, but the token cannot set labels (it needs triage access)."
    return True, f"Connected to {name}: issues enabled."


# --- Escalating ----------------------------------------------------------------------------------------------


def codename_label(*, ticket: Ticket) -> str | None:
    codename = ticket.account.codename if ticket.account_id else ""
    return CODENAME_LABEL.format(codename=slugify(codename)) if slugify(codename) else None


def _identifying(ticket: Ticket) -> list[str]:
    """What would name the customer in public: the account's name and domain, the requester's email and name."""
    values = []
    if ticket.account_id:
        values += [ticket.account.name, ticket.account.domain]
    if ticket.requester_id:
        requester = ticket.requester
        values += [requester.email, f"{requester.first_name} {requester.last_name}".strip()]
    # Very short values ("Al", "X") would match ordinary words; longest first, so redaction replaces whole names.
    return sorted({value.strip() for value in values if value and len(value.strip()) >= 3}, key=len, reverse=True)


def _whole(value: str) -> re.Pattern:
    """The value as a whole word, any case: the account "Box" is not found in "Inbox"."""
    return re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)


def customer_redact(*, ticket: Ticket, text: str) -> str:
    """The text with the customer's name, domain and requester replaced, for prefilling a public report."""
    codename = ticket.account.codename if ticket.account_id and ticket.account.codename else "the customer"
    for value in _identifying(ticket):
        text = _whole(value).sub(lambda _match: f"[{codename}]", text)
    return text


def issue_body(
    *, ticket: Ticket, version: str, environment: str, expected: str, actual: str, steps: str
) -> str:  # fmt: skip
    """The markdown of the issue: seed 003's fields, then the ticket reference and the codename, nothing more."""
    values = {"version": version, "environment": environment, "expected": expected, "actual": actual, "steps": steps}
    sections = [f"### {label}\n\n{values[field].strip()}" for field, label in REPORT_FIELDS]
    codename = ticket.account.codename if ticket.account_id and ticket.account.codename else ""
    # In backticks: a bare "#12" in an issue links to issue 12 of the repository, not to the support ticket.
    reference = f"Support ticket `#{ticket.number}`" + (f" · customer codename **{codename}**" if codename else "")
    return "\n\n".join([*sections, "---", reference]) + "\n"


@transaction.atomic
def ticket_escalate(
    *, tenant: Tenant, ticket: Ticket, title: str, version: str, environment: str, expected: str, actual: str,
    steps: str, labels: list[str] | tuple[str, ...] = (),
) -> Escalation:  # fmt: skip
    """Opens the bug in the organization's repository and links it to the ticket; the customer is named only by
    codename. A ticket with an open escalation gets that one back, GitHub is not asked twice."""
    # The row lock makes a double click wait for the first request, then find its escalation. (No select_related:
    # PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    existing = Escalation.objects.filter(ticket=ticket, state=Escalation.State.OPEN).order_by("created_at").first()
    if existing is not None:
        return existing
    if ticket.status == Status.CLOSED:
        raise ValidationError(
            {NON_FIELD_ERRORS: [f"#{ticket.number} is closed: reopen it first, so it stays open until the fix."]}
        )
    support_settings = support_settings_get(organization=tenant.organization)
    repository, token = _configured(support_settings)
    values = {
        "title": title, "version": version, "environment": environment, "expected": expected, "actual": actual,
        "steps": steps,
    }  # fmt: skip
    extra_labels = [label.strip() for label in labels if label and label.strip()]
    errors = _report_errors(ticket, values, extra_labels)
    if errors:
        raise ValidationError(errors)
    api_url = support_settings.github_api_url.rstrip("/")
    wanted_labels = [*ISSUE_LABELS, *([codename_label(ticket=ticket)] if codename_label(ticket=ticket) else [])]
    payload = {
        "title": values["title"].strip(),
        "body": issue_body(ticket=ticket, **{key: value for key, value in values.items() if key != "title"}),
        "labels": list(dict.fromkeys([*wanted_labels, *extra_labels])),
    }
    try:
        status, answer = _github_call(
            url=f"{api_url}/repos/{repository}/issues", token=token, method="POST", payload=payload
        )
    except GitHubUnreachableError as exc:
        raise ValidationError({NON_FIELD_ERRORS: [f"GitHub could not be reached at {api_url}: {exc}."]}) from exc
    if status != 201 or not isinstance(answer, dict) or not answer.get("number") or not answer.get("html_url"):
        raise ValidationError({NON_FIELD_ERRORS: [_github_refusal(status, answer, repository)]})
    escalation = Escalation.objects.create(
        organization=tenant.organization,
        ticket=ticket,
        repository=repository,
        issue_number=int(answer["number"]),
        issue_url=answer["html_url"],
        state=Escalation.State.OPEN,
        created_by=tenant.member,
    )
    conversation_event(ticket=ticket, text=f"Escalated as {escalation} {escalation.issue_url}", author=tenant.member)
    audit_record(
        tenant=tenant, action="ticket.escalated", obj=escalation, account_id=ticket.account_id,
        changes={"issue": [None, str(escalation)], "issue_url": [None, escalation.issue_url]},
    )  # fmt: skip
    return escalation


def _report_errors(ticket: Ticket, values: dict[str, str], labels: list[str]) -> dict[str, list[str]]:
    """Seed 003's required details, and nothing that names the customer (seed 000: the issue is public)."""
    errors: dict[str, list[str]] = {}
    if not (values["title"] or "").strip():
        errors["title"] = ["Give the issue a title that says what is broken."]
    elif len(values["title"].strip()) > ISSUE_TITLE_MAX:
        errors["title"] = [f"GitHub takes titles of up to {ISSUE_TITLE_MAX} characters."]
    for field, label in REPORT_FIELDS:
        if not (values[field] or "").strip():
            errors[field] = [f"{label} is required in a bug report (seed 003)."]
    if any(len(label) > LABEL_MAX or "," in label for label in labels):
        errors["labels"] = [f"Labels are separated by commas and have at most {LABEL_MAX} characters each."]
    codename = ticket.account.codename if ticket.account_id and ticket.account.codename else "its codename"
    identifying = _identifying(ticket)
    for field, text in [*values.items(), ("labels", " ".join(labels))]:
        found = next((value for value in identifying if _whole(value).search(text or "")), None)
        if found and field not in errors:
            errors[field] = [f"Remove “{found}”: a public issue names the customer only as {codename}."]
    return errors


def _ticket_url(ticket: Ticket) -> str:
    return reverse("ticket_detail", kwargs={"org_slug": ticket.organization.slug, "number": ticket.number})


SHARE_TEXT = (
    "We reproduced the problem and reported it as a bug to our engineering team. You can follow its progress "
    "here: {url}\n\nWe keep this ticket open until the fix is released and will let you know."
)


def escalation_share(*, tenant: Tenant, escalation: Escalation) -> Message:
    """Seed 000: the issue URL is shared with the customer for visibility, as a public reply, once."""
    ticket = escalation.ticket
    if Message.objects.filter(
        ticket=ticket, kind=Message.Kind.REPLY, body_text__contains=escalation.issue_url
    ).exists():
        raise ValidationError({NON_FIELD_ERRORS: [f"The link to {escalation} was already sent to the customer."]})
    # Sharing a link is not a question to the customer: the status stays (a new ticket counts as open now).
    status = Status.OPEN if ticket.status == Status.NEW else ticket.status
    return ticket_reply(tenant=tenant, ticket=ticket, body=SHARE_TEXT.format(url=escalation.issue_url), status=status)


# --- Following the issue --------------------------------------------------------------------------------------


def escalation_closed(*, organization: Organization, repository: str, issue_number: int) -> int:
    """The issue closed on GitHub: its open escalations close (once each, compare-and-set), the conversation says
    so and the ticket's owner is told the ticket may close now. Returns how many escalations changed."""
    changed = 0
    candidates = Escalation.objects.filter(
        repository__iexact=repository, issue_number=issue_number, state=Escalation.State.OPEN
    ).select_related("ticket__organization", "ticket__owner", "created_by")
    system = Tenant(organization=organization, role=Role.SUPPORT)
    for escalation in candidates:
        with transaction.atomic():
            claimed = Escalation.objects.filter(pk=escalation.pk, state=Escalation.State.OPEN).update(
                state=Escalation.State.CLOSED, closed_at=timezone.now()
            )
            if not claimed:
                continue
            changed += 1
            ticket = escalation.ticket
            conversation_event(
                ticket=ticket, text=f"{escalation} was closed on GitHub: the bug is resolved, the ticket may close."
            )
            audit_record(
                tenant=system, action="escalation.closed", obj=escalation, account_id=ticket.account_id,
                changes={"state": [Escalation.State.OPEN, Escalation.State.CLOSED]},
            )  # fmt: skip
            recipient = ticket.owner or escalation.created_by
            if recipient is not None:
                notification_send(
                    organization=organization,
                    recipient=recipient,
                    text=f"The bug behind #{ticket.number} is fixed ({escalation}): you can tell the customer and "
                    "close the ticket.",
                    url=_ticket_url(ticket),
                )
    return changed


def escalations_refresh(*, organization: Organization) -> int:
    """The periodic check for a missed webhook: asks GitHub about every open escalation's issue and closes the
    ones GitHub reports closed. An issue GitHub cannot answer for is left open and logged."""
    support_settings = support_settings_get(organization=organization)
    token = unseal(support_settings.github_token_sealed)
    open_issues = set(Escalation.objects.filter(state=Escalation.State.OPEN).values_list("repository", "issue_number"))
    if not open_issues or not token:
        return 0
    api_url = support_settings.github_api_url.rstrip("/")
    closed = 0
    for repository, issue_number in sorted(open_issues):
        try:
            status, payload = _github_call(url=f"{api_url}/repos/{repository}/issues/{issue_number}", token=token)
        except GitHubUnreachableError as exc:
            logger.warning("Escalation refresh for %s: GitHub unreachable (%s)", organization.slug, exc)
            return closed
        if status != 200 or not isinstance(payload, dict):
            logger.warning(
                "Escalation refresh for %s: %s", organization.slug, _github_refusal(status, payload, repository)
            )
            continue
        if payload.get("state") == "closed":
            closed += escalation_closed(organization=organization, repository=repository, issue_number=issue_number)
    return closed


# --- The close rule -------------------------------------------------------------------------------------------


def open_bug_refusal(*, ticket: Ticket) -> str | None:
    """Seed 000: "The ticket should not be closed until the bug is resolved." The refusal names the open issue."""
    escalation = (
        Escalation.objects.filter(ticket_id=ticket.pk, state=Escalation.State.OPEN).order_by("created_at").first()
    )
    if escalation is None:
        return None
    return (
        f"#{ticket.number} stays open until its bug is resolved: {escalation} ({escalation.issue_url}) is still "
        "open on GitHub. You are told when it closes."
    )
