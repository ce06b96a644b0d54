"""CSV in and out of the contact book.

Import (seed 002): a single "Name" column is split into first and last name; every rejected row is
reported with its line and reason; a row whose email is already known is skipped, so importing the
same file twice adds nothing. Export: a cell that a spreadsheet would run as a formula is defused.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q

from accounts.models import Account, Contact, LeadStatus, LifecycleStage
from accounts.services import contact_create
from core.tenancy import Tenant

HEADER_ALIASES = {
    "name": "name",
    "full name": "name",
    "first name": "first_name",
    "firstname": "first_name",
    "first_name": "first_name",
    "last name": "last_name",
    "lastname": "last_name",
    "last_name": "last_name",
    "email": "email",
    "email address": "email",
    "title": "title",
    "job title": "title",
    "account": "account",
    "company": "account",
    "lifecycle stage": "lifecycle_stage",
    "lifecycle_stage": "lifecycle_stage",
    "lead status": "lead_status",
    "lead_status": "lead_status",
}
_STAGE_LOOKUP = {**{v: v for v in LifecycleStage.values}, **{label.lower(): v for v, label in LifecycleStage.choices}}
_LEAD_STATUS_LOOKUP = {
    **{v.lower(): v for v in LeadStatus.values},
    **{label.lower(): v for v, label in LeadStatus.choices},
}


@dataclass
class RejectedRow:
    line: int
    values: dict[str, str]
    reasons: list[str]

    @property
    def filled_values(self) -> list[tuple[str, str]]:
        return [(column, value) for column, value in self.values.items() if value.strip()]


@dataclass
class ImportReport:
    created: int = 0
    skipped_existing: list[tuple[int, str]] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return self.created + len(self.skipped_existing) + len(self.rejected)


def split_name(full_name: str) -> tuple[str, str]:
    """'Ada King Lovelace' -> ('Ada King', 'Lovelace'); one word is a first name."""
    parts = full_name.split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], ""
    return " ".join(parts[:-1]), parts[-1]


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def contacts_import_csv(*, tenant: Tenant, raw: bytes) -> ImportReport:
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(_decode(raw)))
    columns = {name: HEADER_ALIASES.get((name or "").strip().lower()) for name in reader.fieldnames or []}
    known = set(columns.values())
    if "email" not in known:
        report.missing_columns.append("Email")
    if not ({"name", "first_name", "last_name"} & known):
        report.missing_columns.append("Name (or First name / Last name)")
    if report.missing_columns:
        return report

    rows = list(reader)
    emails = {(row.get(_column_for(columns, "email")) or "").strip().lower() for row in rows}
    existing = set(Contact.objects.filter(email__in=emails).values_list("email", flat=True))
    account_cache = _accounts_by_name_or_domain(rows, columns)
    seen_in_file: dict[str, int] = {}

    for line, row in enumerate(rows, start=2):  # line 1 is the header
        values = {columns[k]: (v or "").strip() for k, v in row.items() if columns.get(k)}
        original = {k: (v or "") for k, v in row.items() if k is not None}
        email = values.get("email", "").lower()
        if email and email in existing:
            report.skipped_existing.append((line, email))
            continue
        if email and email in seen_in_file:
            reason = f"Same email as line {seen_in_file[email]}, which was imported."
            report.rejected.append(RejectedRow(line, original, [reason]))
            continue
        reasons, fields = _row_fields(values, account_cache)
        if not reasons:
            try:
                contact_create(tenant=tenant, **fields)
            except ValidationError as exc:
                reasons = [f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items()]
        if reasons:
            report.rejected.append(RejectedRow(line, original, reasons))
            continue
        report.created += 1
        if email:
            # Only an imported row claims its email: a later row may fix a rejected one.
            seen_in_file[email] = line
    return report


def _column_for(columns: dict[str, str | None], wanted: str) -> str | None:
    return next((name for name, mapped in columns.items() if mapped == wanted), None)


def _accounts_by_name_or_domain(rows: list[dict], columns: dict[str, str | None]) -> dict[str, Account]:
    """One query for every account the file names, by name or domain."""
    column = _column_for(columns, "account")
    if column is None:
        return {}
    wanted = {(row.get(column) or "").strip().lower() for row in rows} - {""}
    if not wanted:
        return {}
    query = Q()
    for value in wanted:
        query |= Q(name__iexact=value) | Q(domain=value)
    found: dict[str, Account] = {}
    for account in Account.objects.filter(query):
        found.setdefault(account.name.lower(), account)
        if account.domain:
            found.setdefault(account.domain, account)
    return found


def _row_fields(values: dict[str, str], accounts: dict[str, Account]) -> tuple[list[str], dict]:
    reasons = []
    first_name, last_name = values.get("first_name", ""), values.get("last_name", "")
    if values.get("name") and not (first_name or last_name):
        first_name, last_name = split_name(values["name"])
    if not values.get("email"):
        reasons.append("Email is empty.")
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "email": values.get("email", ""),
        "title": values.get("title", ""),
    }
    if values.get("account"):
        account = accounts.get(values["account"].lower())
        if account is None:
            reasons.append(f"No account named or with the domain '{values['account']}'.")
        fields["account"] = account
    if values.get("lifecycle_stage"):
        stage = _STAGE_LOOKUP.get(values["lifecycle_stage"].lower())
        if stage is None:
            reasons.append(f"Unknown lifecycle stage '{values['lifecycle_stage']}'.")
        fields["lifecycle_stage"] = stage
    if values.get("lead_status"):
        status = _LEAD_STATUS_LOOKUP.get(values["lead_status"].lower())
        if status is None:
            reasons.append(f"Unknown lead status '{values['lead_status']}'.")
        fields["lead_status"] = status
    return reasons, fields


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def defuse_formula(value: object) -> str:
    """A leading quote makes spreadsheets show the text instead of evaluating it (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([defuse_formula(cell) for cell in header])
    for row in rows:
        yield writer.writerow([defuse_formula(cell) for cell in row])


CONTACT_EXPORT_HEADER = [
    "First name", "Last name", "Email", "Title", "Account", "Lifecycle stage", "Lead status", "Activation outbound",
    "FFC tier", "FFC actions", "FFC usage",
]  # fmt: skip


def contact_export_rows(contacts) -> Iterator[list[object]]:
    for contact in contacts.iterator(chunk_size=2000):
        yield [
            contact.first_name, contact.last_name, contact.email, contact.title,
            contact.account.name if contact.account else "", contact.lifecycle_stage, contact.lead_status,
            "Yes" if contact.activation_outbound else "No", contact.ffc_tier, "; ".join(contact.ffc_actions or []),
            contact.ffc_usage,
        ]  # fmt: skip


ACCOUNT_EXPORT_HEADER = [
    "Name", "Domain", "Cohort", "Status", "Currency", "ARR", "MRR", "Renewal date", "CSM", "AE", "Codename",
]  # fmt: skip


def account_export_rows(accounts) -> Iterator[list[object]]:
    for account in accounts.iterator(chunk_size=2000):
        yield [
            account.name, account.domain, account.cohort, account.status, account.currency, account.arr, account.mrr,
            account.renewal_date or "", account.csm_owner.email if account.csm_owner else "",
            account.ae_owner.email if account.ae_owner else "", account.codename,
        ]  # fmt: skip
