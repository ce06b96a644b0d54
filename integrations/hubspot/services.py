"""Writes of the HubSpot adapter: settings (stage mapping, field ownership) and applying HubSpot's records here.

Applying records (`HubSpotImporter.import_batch`) is the sync's, the webhooks' and the full reconcile's one path,
so a record arriving any way is handled the same way:

- A record is matched on its HubSpot id (the link in ExternalRecord, then the row's hubspot_*_id), then for a
  record seen for the first time on a natural key (a contact's email, a company's domain when exactly one unlinked
  account has it). A retried batch therefore finds what the first try wrote and changes nothing twice.
- A field is taken from HubSpot when HubSpot changed it since the last sync; when both sides changed it, the
  field's owner (HubSpotFieldOwnership) wins and the conflict is logged. Each side's "last sync" values are in
  HubSpotRecordState.
- An object whose last-modified time is older than what we applied already is skipped: a late webhook or an
  overlapping window never rolls a record back.

Accounts and contacts are written in bulk. The per-record services (accounts.services.contact_create …) cost about
eight queries a record, which at HubSpot's 1,000 records a second would make the database the bottleneck of a
25,000-record sync; so this module writes each batch in a few statements and keeps what those services keep: the
values normalised the same way, the email unique in the organization, an audit entry per created or changed
record ({field: [before, after]}), the lifecycle history row of every stage set, and the cohort path's first
row of a new account. It deliberately does *not* apply seed 002's stage gates to stages HubSpot sets (MQL → SQL
needs the four answers, …): those rules are for moves made here, and a contact HubSpot already has at SQL is at
SQL. Deals are few and carry the handoff rules, so they go through lifecycle.services one by one, with
`deal_stage_import` for stages that arrive from HubSpot.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from accounts.codenames import MINOR_PLANET_NAMES
from accounts.models import Account, CohortChange, Contact, LifecycleStage
from core.bulk import bulk_upsert
from core.models import AuditEntry, Organization, Role
from core.services import audit_record
from core.tenancy import Tenant
from integrations import services as integration_services
from integrations.hubspot import mapping
from integrations.hubspot.client import RemoteObject
from integrations.hubspot.mapping import ACCOUNT, CONTACT, DEAL
from integrations.hubspot_models import (
    FieldOwner,
    HubSpotConflict,
    HubSpotFieldOwnership,
    HubSpotRecordState,
    HubSpotStageMapping,
)
from integrations.models import ExternalRecord, Source, SyncRun
from lifecycle import rules
from lifecycle.models import CLOSED_DEAL_STAGES, Deal, DealStage, LifecycleStageChange

logger = logging.getLogger(__name__)

SOURCE = Source.HUBSPOT
ACTOR_LABEL = "HubSpot sync"
ACCOUNT_CACHE_SIZE = 20_000
MISSING = object()


def sync_tenant(organization: Organization) -> Tenant:
    """Who acts for a sync: the system (no member), with an admin's rights for the services' checks."""
    return Tenant(organization=organization, role=Role.ADMIN)


# --- Settings ------------------------------------------------------------------------------------------------------


def field_owners(*, organization: Organization) -> dict[tuple[str, str], str]:
    """{(object type, field): owner} for every synced field, the defaults where no row says otherwise."""
    owners = {(f.object_type, f.name): f.default_owner for f in mapping.FIELDS}
    for row in HubSpotFieldOwnership.objects.filter(organization=organization):
        if (row.object_type, row.field) in owners:
            owners[(row.object_type, row.field)] = row.owner
    return owners


@transaction.atomic
def field_ownership_update(*, tenant: Tenant, owners: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """Sets who wins each field in a conflict. Unknown fields and owners are refused; the change is audited."""
    current = field_owners(organization=tenant.organization)
    changes: dict[str, list[str]] = {}
    for key, owner in owners.items():
        if key not in current:
            raise ValidationError({"__all__": [f"{key[0]}.{key[1]} is not a synced field."]})
        if owner not in FieldOwner.values:
            raise ValidationError({f"{key[0]}__{key[1]}": [f"'{owner}' is not HubSpot or this platform."]})
        if current[key] != owner:
            changes[f"{key[0]}.{key[1]}"] = [current[key], owner]
        HubSpotFieldOwnership.objects.update_or_create(
            organization=tenant.organization, object_type=key[0], field=key[1], defaults={"owner": owner}
        )
    if changes:
        audit_record(
            tenant=tenant,
            action="integration.hubspot.ownership_changed",
            obj=integration_services.connection_get(organization=tenant.organization, source=SOURCE),
            changes=changes,
        )
    return field_owners(organization=tenant.organization)


def stage_mappings_refresh(*, organization: Organization, pipelines: list[dict]) -> list[HubSpotStageMapping]:
    """Keeps one row per HubSpot deal stage. A new stage gets the stage of ours its label names (seed 002), or none;
    a mapping an admin chose is never overwritten."""
    existing = {(row.pipeline_id, row.stage_id): row for row in HubSpotStageMapping.objects.all()}
    for pipeline in pipelines:
        for order, stage in enumerate(pipeline["stages"]):
            key = (pipeline["id"], stage["id"])
            row = existing.get(key)
            if row is None:
                existing[key] = HubSpotStageMapping.objects.create(
                    organization=organization,
                    pipeline_id=pipeline["id"],
                    pipeline_label=pipeline["label"] or "",
                    stage_id=stage["id"],
                    stage_label=stage["label"] or "",
                    hubspot_closed=stage["closed"],
                    display_order=order,
                    stage=mapping.stage_guess(stage["id"], stage["label"] or ""),
                )
            elif (row.pipeline_label, row.stage_label, row.hubspot_closed, row.display_order) != (
                pipeline["label"] or "",
                stage["label"] or "",
                stage["closed"],
                order,
            ):
                row.pipeline_label, row.stage_label = pipeline["label"] or "", stage["label"] or ""
                row.hubspot_closed, row.display_order = stage["closed"], order
                row.save(
                    update_fields=["pipeline_label", "stage_label", "hubspot_closed", "display_order", "updated_at"]
                )
    return list(HubSpotStageMapping.objects.all())


@transaction.atomic
def stage_mapping_update(*, tenant: Tenant, stages: dict[int, str]) -> None:
    """{mapping row id: our stage or ""}. A closed HubSpot stage may only mean a closed stage here, and an open one
    an open stage, so a won deal there never lands open here."""
    rows = {row.pk: row for row in HubSpotStageMapping.objects.filter(pk__in=list(stages))}
    errors: dict[str, list[str]] = {}
    changes: dict[str, list[str]] = {}
    for pk, stage in stages.items():
        row = rows.get(pk)
        if row is None:
            raise ValidationError({"__all__": ["That HubSpot stage is no longer listed: refresh the stages."]})
        if stage and stage not in DealStage.values:
            errors[f"stage_{pk}"] = [f"'{stage}' is not a deal stage."]
        elif stage and row.hubspot_closed != (stage in CLOSED_DEAL_STAGES):
            kind = "closed" if row.hubspot_closed else "open"
            errors[f"stage_{pk}"] = [f"{row.stage_label} is {kind} in HubSpot: map it to a {kind} stage."]
        elif row.stage != stage:
            changes[f"{row.pipeline_label} / {row.stage_label}"] = [row.stage, stage]
            row.stage = stage
            row.save(update_fields=["stage", "updated_at"])
    if errors:
        raise ValidationError(errors)
    if changes:
        audit_record(
            tenant=tenant,
            action="integration.hubspot.stages_mapped",
            obj=integration_services.connection_get(organization=tenant.organization, source=SOURCE),
            changes=changes,
        )


# --- Applying HubSpot's records -----------------------------------------------------------------------------------


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    stale: int = 0  # older than what we hold: skipped (counted as unchanged too)
    conflicts: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (object type, HubSpot id, message)
    oldest_failed: datetime | None = None

    def fail(self, object_type: str, obj: RemoteObject, message: str) -> None:
        self.failed += 1
        self.errors.append((object_type, obj.id, message))
        if obj.updated_at and (self.oldest_failed is None or obj.updated_at < self.oldest_failed):
            self.oldest_failed = obj.updated_at

    def add(self, other: BatchResult) -> None:
        for name in ("created", "updated", "unchanged", "failed", "stale", "conflicts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
        if other.oldest_failed and (self.oldest_failed is None or other.oldest_failed < self.oldest_failed):
            self.oldest_failed = other.oldest_failed


@dataclass
class _Decision:
    """What one record becomes: the local values to write, the state to keep, the conflicts to log."""

    obj: RemoteObject
    remote: dict[str, Any]
    local_before: dict[str, Any] | None
    local_after: dict[str, Any]
    conflicts: list[tuple[str, Any, Any, str]]  # (field, local value, remote value, winner)
    unresolved: set[str]  # fields HubSpot gave a value we could not use: not recorded as seen
    push: set[str] = field(default_factory=set)  # fields whose value here must be written to HubSpot

    @property
    def changes(self) -> dict[str, list[Any]]:
        before = self.local_before or {}
        return {
            name: [mapping.value_text(before.get(name)) or None, mapping.value_text(value)]
            for name, value in self.local_after.items()
            if self.local_before is None or before.get(name) != value
        }


def _first(ids: list[str] | None) -> str:
    return ids[0] if ids else ""


def _to_date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


class HubSpotImporter:
    """Applies batches of HubSpot objects to one organization. Build one per run (it caches the settings)."""

    def __init__(self, *, organization: Organization, run: SyncRun | None = None) -> None:
        from lifecycle.services import pipeline_settings_get

        self.organization = organization
        self.tenant = sync_tenant(organization)
        self.run = run
        self.owners = field_owners(organization=organization)
        self.stage_of = {(row.pipeline_id, row.stage_id): row.stage for row in HubSpotStageMapping.objects.all()}
        pipeline_settings = pipeline_settings_get(organization=organization)
        self.lost_reasons: list[str] = list(pipeline_settings.lost_reasons)
        self.evangelist_enabled = pipeline_settings.evangelist_enabled
        self._codenames_taken: set[str] | None = None
        self._codename_order: list[str] = []
        # Accounts by HubSpot company id, as this run wrote or read them: contacts and deals find theirs here.
        self._accounts: dict[str, Account] = {}
        self._unlinked_ids: dict[type, bool] = {}

    # ------------------------------------------------------------------ the entry

    def import_batch(self, object_type: str, objects: Iterable[RemoteObject]) -> BatchResult:
        """Applies a batch of objects of one type (a few pages at most). Associations come in `obj.associations`."""
        latest: dict[str, RemoteObject] = {}
        for obj in objects:  # one object twice in a page (an overlap): keep its newest version
            if obj.id not in latest or (obj.updated_at and obj.updated_at > latest[obj.id].updated_at):
                latest[obj.id] = obj
        objs = list(latest.values())
        result = BatchResult()
        if not objs:
            return result
        links = integration_services.external_records_by_id(
            source=SOURCE, object_type=object_type, external_ids=[obj.id for obj in objs]
        )
        fresh = []
        for obj in objs:
            link = links.get(obj.id)
            if link and link.remote_updated_at and obj.updated_at and obj.updated_at < link.remote_updated_at:
                result.stale += 1
                result.unchanged += 1
            else:
                fresh.append(obj)
        if not fresh:
            return result
        importer = {ACCOUNT: self._import_accounts, CONTACT: self._import_contacts, DEAL: self._import_deals}
        try:
            with transaction.atomic():
                _commit_without_waiting_for_disk()
                result.add(importer[object_type](fresh, links))
        except (IntegrityError, ValidationError) as exc:
            # A race (another writer took an email meanwhile) or a value the database refused: apply the batch
            # one record at a time, so the others are kept and the one that fails is named.
            logger.info("A HubSpot %s batch failed as a whole (%s); applying it record by record", object_type, exc)
            for obj in fresh:
                try:
                    with transaction.atomic():
                        result.add(importer[object_type]([obj], links))
                except (IntegrityError, ValidationError) as one_exc:
                    result.fail(object_type, obj, _message(one_exc))
        return result

    # ------------------------------------------------------------------ shared steps

    def _states(self, object_type: str, ids: list[str]) -> dict[str, HubSpotRecordState]:
        """The last sync's values of these records. A record without a link has none (both are written together)."""
        if not ids:
            return {}
        return {
            state.external_id: state
            for state in HubSpotRecordState.objects.filter(object_type=object_type, external_id__in=ids)
        }

    def _decide(
        self,
        object_type: str,
        obj: RemoteObject,
        remote: dict[str, Any],
        local: dict[str, Any] | None,
        state: HubSpotRecordState | None,
        unresolved: set[str],
    ) -> _Decision:
        """Per field: HubSpot's change is taken; both changed is a conflict the owner wins; else ours stays."""
        if local is None:
            after = {name: value for name, value in remote.items() if name not in unresolved}
            return _Decision(obj, remote, None, after, [], unresolved)
        after = dict(local)
        conflicts = []
        push = set()
        for name, remote_value in remote.items():
            if name in unresolved or name not in local:
                continue
            local_value = local[name]
            if remote_value == local_value:
                continue
            if state is None:
                # First sight of a record we already had: nothing says which side is newer, so both "changed".
                remote_changed = local_changed = True
            else:
                remote_changed = state.remote_values.get(name, MISSING) != remote_value
                local_changed = state_local(state, name) != local_value
            if remote_changed and local_changed:
                winner = self.owners[(object_type, name)]
                conflicts.append((name, local_value, remote_value, winner))
                if winner == FieldOwner.HUBSPOT:
                    after[name] = remote_value
                else:
                    push.add(name)
            elif remote_changed:
                after[name] = remote_value
            elif local_changed:
                push.add(name)
        return _Decision(obj, remote, local, after, conflicts, unresolved, push)

    def _remember(
        self,
        object_type: str,
        decisions: list[_Decision],
        local_ids: dict[str, int],
        old_states: dict[str, HubSpotRecordState],
        result: BatchResult,
    ) -> None:
        """Links, the values each side now holds, the pushed fields' fingerprint, and the conflicts."""
        pushed = {f.name for f in mapping.FIELDS_OF[object_type] if f.pushed}
        now = timezone.now()
        links, states = [], []
        for d in decisions:
            # The fingerprint of what HubSpot holds for the fields we write back: our value where the two agree (or
            # where we adopted HubSpot's starting point), HubSpot's where ours must still be pushed. The write-back
            # pushes a record whose values here no longer match it.
            pushed_values = {
                name: d.remote.get(name) if name in d.push else d.local_after.get(name)
                for name in pushed
                if name in d.local_after
            }
            fingerprint = self.pushed_fingerprint(object_type, pushed_values, local_stage=d.local_after.get("stage"))
            links.append((d.obj.id, local_ids.get(d.obj.id), d.obj.updated_at, fingerprint))
            previous = old_states.get(d.obj.id)
            remote_seen = {name: value for name, value in d.remote.items() if name not in d.unresolved}
            if previous is not None:
                # A value we could not use is not "seen": it is tried again next time.
                remote_seen = {**{k: previous.remote_values.get(k) for k in d.unresolved}, **remote_seen}
            remote_seen = _jsonable(remote_seen)
            # Ours, where it differs from HubSpot's (most records: nowhere), keeps the row small.
            local_differs = {k: v for k, v in _jsonable(d.local_after).items() if remote_seen.get(k, MISSING) != v}
            states.append((d.obj.id, remote_seen, local_differs, _jsonable(pushed_values)))
        _links_upsert(self.organization, object_type, links, now)
        _states_upsert(self.organization, object_type, states, now)
        conflicts = [
            HubSpotConflict(
                organization=self.organization,
                run=self.run,
                object_type=object_type,
                external_id=d.obj.id,
                local_id=local_ids.get(d.obj.id),
                record_label=_label(object_type, d.local_after)[:255],
                field=name,
                local_value=mapping.value_text(local_value),
                remote_value=mapping.value_text(remote_value),
                winner=winner,
            )
            for d in decisions
            for name, local_value, remote_value, winner in d.conflicts
        ]
        HubSpotConflict.objects.bulk_create(conflicts)
        result.conflicts += len(conflicts)

    @staticmethod
    def pushed_fingerprint(object_type: str, values: dict[str, Any], *, local_stage: str | None = None) -> str:
        """The fingerprint of the written-back fields' values: FFC-* of a contact; a deal's stage once it is closed
        here (open stages are not written back)."""
        if object_type == CONTACT:
            return mapping.fingerprint({name: values.get(name) for name in mapping.FFC_FIELDS})
        if object_type == DEAL:
            return mapping.fingerprint({"stage": values.get("stage")}) if local_stage in CLOSED_DEAL_STAGES else ""
        return ""

    def _has_unlinked_ids(self, model, field_name: str) -> bool:
        """Whether rows of `model` carry a HubSpot id set outside the sync (a CSV import, by hand), found no link yet.

        Asked once per run: rows the sync itself writes have their link, so a first sync of a new organization skips
        a lookup on an unindexed column for every batch.
        """
        if model not in self._unlinked_ids:
            linked = ExternalRecord.objects.filter(
                source=SOURCE,
                object_type={Account: ACCOUNT, Contact: CONTACT, Deal: DEAL}[model],
                local_id__isnull=False,
            ).values("local_id")
            self._unlinked_ids[model] = model.objects.exclude(**{field_name: ""}).exclude(pk__in=linked).exists()
        return self._unlinked_ids[model]

    def _accounts_by_ref(self, company_ids: Iterable[str]) -> dict[str, Account]:
        wanted = {company_id for company_id in company_ids if company_id}
        found = {company_id: self._accounts[company_id] for company_id in wanted if company_id in self._accounts}
        found.update(self._accounts_read(wanted - set(found)))
        return found

    def _remember_accounts(self, accounts: dict[str, Account]) -> None:
        if len(self._accounts) > ACCOUNT_CACHE_SIZE:
            self._accounts.clear()
        self._accounts.update(accounts)

    def _accounts_read(self, ids: set[str]) -> dict[str, Account]:
        if not ids:
            return {}
        links = integration_services.external_records_by_id(source=SOURCE, object_type=ACCOUNT, external_ids=ids)
        by_pk = {link.local_id: link.external_id for link in links.values() if link.local_id}
        found: dict[str, Account] = {}
        for account in Account.objects.filter(pk__in=list(by_pk)):
            found[by_pk[account.pk]] = account
        missing = ids - set(found)
        if missing and self._has_unlinked_ids(Account, "hubspot_company_id"):
            for account in Account.objects.filter(hubspot_company_id__in=list(missing)):
                found[account.hubspot_company_id] = account
        self._remember_accounts(found)
        return found

    def _audit(self, action: str, obj, changes: dict, account_id: int | None) -> AuditEntry:
        return AuditEntry(
            organization_id=self.organization.pk,
            action=action,
            object_type=obj._meta.model_name,
            object_id=obj.pk,
            object_repr=str(obj)[:255],
            account_id=account_id,
            changes=changes,
        )

    # ------------------------------------------------------------------ companies → accounts

    def _account_local(self, account: Account) -> dict[str, Any]:
        return {"name": account.name, "domain": account.domain}

    def _import_accounts(self, objs: list[RemoteObject], links: dict[str, ExternalRecord]) -> BatchResult:
        result = BatchResult()
        ids = [obj.id for obj in objs]
        states = self._states(ACCOUNT, [i for i in ids if i in links])
        by_pk = {link.local_id: link.external_id for link in links.values() if link.local_id}
        matched: dict[str, Account] = {}
        for account in Account.objects.filter(pk__in=list(by_pk)):
            matched[by_pk[account.pk]] = account
        unmatched = [obj for obj in objs if obj.id not in matched]
        if unmatched and self._has_unlinked_ids(Account, "hubspot_company_id"):
            for account in Account.objects.filter(hubspot_company_id__in=[obj.id for obj in unmatched]):
                matched[account.hubspot_company_id] = account
        remote_of = {obj.id: mapping.remote_values(ACCOUNT, obj.properties) for obj in objs}
        for obj in objs:
            remote = remote_of[obj.id]
            if not remote["name"]:
                remote["name"] = remote["domain"] or f"HubSpot company {obj.id}"
        # A company seen for the first time joins the one unlinked account with its domain, if exactly one has it.
        domains = {remote_of[obj.id]["domain"] for obj in objs if obj.id not in matched and remote_of[obj.id]["domain"]}
        if domains:
            candidates: dict[str, list[Account]] = {}
            for account in Account.objects.filter(domain__in=domains, hubspot_company_id=""):
                candidates.setdefault(account.domain, []).append(account)
            for obj in objs:
                same = candidates.get(remote_of[obj.id]["domain"], [])
                if obj.id not in matched and len(same) == 1 and same[0] not in matched.values():
                    matched[obj.id] = same[0]
        decisions, new_accounts, changed_accounts, audits = [], [], [], []
        for obj in objs:
            account = matched.get(obj.id)
            local = self._account_local(account) if account else None
            d = self._decide(ACCOUNT, obj, remote_of[obj.id], local, states.get(obj.id), set())
            decisions.append(d)
            if account is None:
                account = Account(
                    organization=self.organization,
                    name=d.local_after["name"],
                    domain=d.local_after["domain"],
                    currency=self.organization.default_currency,
                    codename=self._codename(),
                    hubspot_company_id=obj.id,
                )
                matched[obj.id] = account
                new_accounts.append(account)
                result.created += 1
                continue
            changes = d.changes
            if account.hubspot_company_id != obj.id:
                changes["hubspot_company_id"] = [account.hubspot_company_id or None, obj.id]
            if not changes:
                result.unchanged += 1
                continue
            account.name, account.domain, account.hubspot_company_id = (
                d.local_after["name"],
                d.local_after["domain"],
                obj.id,
            )
            account.updated_at = timezone.now()
            changed_accounts.append(account)
            audits.append(self._audit("account.updated", account, changes, account.pk))
            result.updated += 1
        Account.objects.bulk_create(new_accounts)
        if changed_accounts:
            Account.objects.bulk_update(changed_accounts, ["name", "domain", "hubspot_company_id", "updated_at"])
        now = timezone.now()
        for account in new_accounts:
            created = {
                "name": [None, account.name],
                "codename": [None, account.codename],
                "hubspot_company_id": [None, account.hubspot_company_id],
            }
            if account.domain:
                created["domain"] = [None, account.domain]
            audits.append(self._audit("account.created", account, created, account.pk))
        CohortChange.objects.bulk_create(
            CohortChange(
                organization_id=self.organization.pk,
                account_id=account.pk,
                from_cohort="",
                to_cohort=account.cohort,
                changed_at=now,
            )
            for account in new_accounts
        )
        AuditEntry.objects.bulk_create(audits)
        self._remember(ACCOUNT, decisions, {key: account.pk for key, account in matched.items()}, states, result)
        self._remember_accounts(matched)
        return result

    def _codename(self) -> str:
        """Seed 003's minor-planet codename, as accounts.services.codename_suggest picks it, without a query each."""
        if self._codenames_taken is None:
            self._codenames_taken = set(Account.objects.values_list("codename", flat=True))
            self._codename_order = random.sample(MINOR_PLANET_NAMES, len(MINOR_PLANET_NAMES))
        while self._codename_order:
            name = self._codename_order.pop()
            if name not in self._codenames_taken:
                self._codenames_taken.add(name)
                return name
        while True:  # the plain names are used up: numbered ones, as codename_suggest does
            name = f"{random.choice(MINOR_PLANET_NAMES)} {random.randint(2, 99999)}"
            if name not in self._codenames_taken:
                self._codenames_taken.add(name)
                return name

    # ------------------------------------------------------------------ contacts

    def contact_local(self, contact: Contact) -> dict[str, Any]:
        """A contact's synced fields in our form. FFC-Tier is the tier we compute (mapping.ffc_tier_for), the stored
        one only for a contact without an account."""
        return {
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "title": contact.title,
            "lifecycle_stage": contact.lifecycle_stage,
            "lead_status": contact.lead_status,
            "account": contact.account.hubspot_company_id if contact.account_id and contact.account else "",
            "ffc_tier": mapping.ffc_tier_for([contact.account]) if contact.account_id else contact.ffc_tier,
            "ffc_actions": list(contact.ffc_actions or []),
            "ffc_usage": contact.ffc_usage,
        }

    def _import_contacts(self, objs: list[RemoteObject], links: dict[str, ExternalRecord]) -> BatchResult:
        result = BatchResult()
        ids = [obj.id for obj in objs]
        states = self._states(CONTACT, [i for i in ids if i in links])
        remote_of: dict[str, dict[str, Any]] = {}
        unresolved_of: dict[str, set[str]] = {}
        usable = []
        for obj in objs:
            company_id = _first((obj.associations or {}).get("companies"))
            remote = mapping.remote_values(CONTACT, obj.properties, account_ref=company_id)
            try:
                validate_email(remote["email"])
            except ValidationError:
                result.fail(
                    CONTACT, obj, f"HubSpot contact {obj.id} has no usable email ({remote['email'] or 'none'})."
                )
                continue
            unresolved = set()
            stage = remote["lifecycle_stage"]
            if stage not in mapping.LIFECYCLE_STAGES or (
                stage == LifecycleStage.EVANGELIST and not self.evangelist_enabled
            ):
                unresolved.add("lifecycle_stage")
                if stage:
                    result.errors.append((CONTACT, obj.id, f"Lifecycle stage '{stage}' is not used here; kept ours."))
            if remote["lead_status"] and remote["lead_status"] not in mapping.LEAD_STATUSES:
                unresolved.add("lead_status")
                result.errors.append(
                    (CONTACT, obj.id, f"Lead status '{remote['lead_status']}' is not known; kept ours.")
                )
            remote_of[obj.id], unresolved_of[obj.id] = remote, unresolved
            usable.append(obj)
        accounts = self._accounts_by_ref(remote["account"] for remote in remote_of.values())
        for obj in usable:
            if remote_of[obj.id]["account"] and remote_of[obj.id]["account"] not in accounts:
                # Its company is not here (yet): the association is tried again next time.
                unresolved_of[obj.id].add("account")
        # Match: the link, then the HubSpot id on the row, then (first sight) the email.
        by_pk = {link.local_id: link.external_id for link in links.values() if link.local_id}
        matched: dict[str, Contact] = {}
        for contact in Contact.objects.filter(pk__in=list(by_pk)).select_related("account"):
            matched[by_pk[contact.pk]] = contact
        rest = [obj.id for obj in usable if obj.id not in matched]
        if rest and self._has_unlinked_ids(Contact, "hubspot_contact_id"):
            for contact in Contact.objects.filter(hubspot_contact_id__in=rest).select_related("account"):
                matched[contact.hubspot_contact_id] = contact
        emails = {remote_of[obj.id]["email"]: obj.id for obj in usable if obj.id not in matched}
        taken_emails: set[str] = set()  # by contacts here that belong to another HubSpot contact
        if emails:
            for contact in Contact.objects.filter(email__in=list(emails)).select_related("account"):
                if not contact.hubspot_contact_id or contact.hubspot_contact_id == emails[contact.email]:
                    matched[emails[contact.email]] = contact
                else:
                    taken_emails.add(contact.email)
        decisions, new_contacts, changed, audits, stage_rows = [], [], [], [], []
        claimed_emails: dict[str, str] = {}
        self._email_before: dict[int, str] = {}
        for obj in usable:
            contact = matched.get(obj.id)
            local = self.contact_local(contact) if contact else None
            d = self._decide(CONTACT, obj, remote_of[obj.id], local, states.get(obj.id), unresolved_of[obj.id])
            email = d.local_after.get("email", contact.email if contact else "")
            if claimed_emails.setdefault(email, obj.id) != obj.id:
                result.fail(CONTACT, obj, f"Another HubSpot contact in this batch has the email {email}.")
                continue
            if contact is None and email in taken_emails:
                result.fail(CONTACT, obj, f"A contact with the email {email} already exists here, linked to another "
                                          "HubSpot contact.")  # fmt: skip
                continue
            account = accounts.get(d.local_after.get("account", "")) if d.local_after.get("account") else None
            if contact is None:
                contact = Contact(
                    organization=self.organization,
                    email=email,
                    first_name=d.local_after["first_name"],
                    last_name=d.local_after["last_name"],
                    title=d.local_after["title"],
                    lifecycle_stage=d.local_after.get("lifecycle_stage") or LifecycleStage.SUBSCRIBER,
                    lead_status=d.local_after.get("lead_status", ""),
                    account=account,
                    ffc_tier=remote_of[obj.id]["ffc_tier"],
                    ffc_actions=d.local_after["ffc_actions"],
                    ffc_usage=d.local_after["ffc_usage"],
                    hubspot_contact_id=obj.id,
                )
                # What we hold now, in our form: the tier we compute from the account, adopted as the starting point
                # (HubSpot's own tier stays until ours changes: see writeback).
                d.local_after = self.contact_local(contact)
                matched[obj.id] = contact
                new_contacts.append(contact)
                decisions.append(d)
                result.created += 1
                continue
            decisions.append(d)
            changes = d.changes
            changes.pop("ffc_tier", None)  # the stored tier's own change is recorded below
            before_stage, before_tier = contact.lifecycle_stage, contact.ffc_tier
            self._email_before[contact.pk] = contact.email
            self._apply_contact(contact, d.local_after, account, remote_of[obj.id])
            if contact.account_id:
                # Our tier is computed from the account: what we hold is that, whatever HubSpot's was.
                d.local_after["ffc_tier"] = mapping.ffc_tier_for([contact.account])
            if contact.ffc_tier != before_tier:
                changes["ffc_tier"] = [before_tier or None, contact.ffc_tier]
            if contact.hubspot_contact_id != obj.id:
                changes["hubspot_contact_id"] = [contact.hubspot_contact_id or None, obj.id]
                contact.hubspot_contact_id = obj.id
            if not changes:
                result.unchanged += 1
                continue
            contact.updated_at = timezone.now()
            changed.append(contact)
            audits.append(self._audit("contact.updated", contact, changes, contact.account_id))
            if contact.lifecycle_stage != before_stage:
                stage_rows.append(self._stage_row(contact, before_stage))
            result.updated += 1
        # Emails are unique per organization: an email HubSpot changed to one another contact here has is refused.
        self._check_emails_free([c for c in changed if c.email != self._email_before.get(c.pk, c.email)])
        Contact.objects.bulk_create(new_contacts)
        if changed:
            Contact.objects.bulk_update(changed, sorted(_CONTACT_WRITABLE))
        for contact in new_contacts:
            created = {
                name: [None, mapping.value_text(getattr(contact, name))]
                for name in ("email", "first_name", "last_name", "title", "lifecycle_stage", "lead_status", "ffc_tier",
                             "ffc_actions", "ffc_usage", "hubspot_contact_id")
                if getattr(contact, name)
            }  # fmt: skip
            if contact.account_id:
                created["account"] = [None, contact.account.name]
            audits.append(self._audit("contact.created", contact, created, contact.account_id))
            stage_rows.append(self._stage_row(contact, ""))
        AuditEntry.objects.bulk_create(audits)
        LifecycleStageChange.objects.bulk_create(stage_rows)
        self._remember(CONTACT, decisions, {key: contact.pk for key, contact in matched.items()}, states, result)
        return result

    def _apply_contact(self, contact: Contact, values: dict[str, Any], account: Account | None, remote: dict) -> None:
        for name in ("email", "first_name", "last_name", "title", "lead_status", "ffc_actions", "ffc_usage"):
            setattr(contact, name, values[name])
        if values.get("lifecycle_stage"):
            contact.lifecycle_stage = values["lifecycle_stage"]
        if values["account"] != (contact.account.hubspot_company_id if contact.account else ""):
            contact.account = account
        if contact.account_id is None or values["ffc_tier"] == remote["ffc_tier"]:
            # The stored tier is what HubSpot shows (ours, for a contact with an account, is computed: writeback).
            contact.ffc_tier = values["ffc_tier"]

    def _check_emails_free(self, contacts: list[Contact]) -> None:
        """The batch fails (and is applied record by record, naming the one) if a changed email is taken here."""
        if not contacts:
            return
        taken = Contact.objects.filter(email__in=[c.email for c in contacts]).exclude(pk__in=[c.pk for c in contacts])
        clash = taken.values_list("email", flat=True).first()
        if clash:
            raise ValidationError({"email": [f"A contact with the email {clash} already exists here."]})

    def _stage_row(self, contact: Contact, from_stage: str) -> LifecycleStageChange:
        return LifecycleStageChange(
            organization_id=self.organization.pk,
            contact_id=contact.pk,
            account_id=contact.account_id,
            from_stage=from_stage,
            to_stage=contact.lifecycle_stage,
            owner_id=contact.owner_id or (contact.account.ae_owner_id if contact.account_id else None),
            changed_by_label=ACTOR_LABEL,
            reason="Set in HubSpot",
            is_correction=bool(from_stage) and rules.is_backward(from_stage, contact.lifecycle_stage),
            changed_at=timezone.now(),
        )

    # ------------------------------------------------------------------ deals

    def deal_local(self, deal: Deal) -> dict[str, Any]:
        return {
            "name": deal.name,
            "amount": str(Decimal(deal.amount).quantize(Decimal("0.01"))),
            "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else "",
            "stage": deal.stage,
            "account": deal.account.hubspot_company_id if deal.account else "",
        }

    def _import_deals(self, objs: list[RemoteObject], links: dict[str, ExternalRecord]) -> BatchResult:
        """Deals one by one through lifecycle.services: creation, the handoff on Closed Won, the lost reason."""
        from lifecycle.services import deal_create, deal_stage_import, deal_update

        result = BatchResult()
        states = self._states(DEAL, [obj.id for obj in objs if obj.id in links])
        remote_of = {}
        for obj in objs:
            remote_of[obj.id] = mapping.remote_values(
                DEAL, obj.properties, account_ref=_first((obj.associations or {}).get("companies"))
            )
        accounts = self._accounts_by_ref(remote["account"] for remote in remote_of.values())
        by_pk = {link.local_id: link.external_id for link in links.values() if link.local_id}
        matched = {by_pk[deal.pk]: deal for deal in Deal.objects.filter(pk__in=list(by_pk)).select_related("account")}
        rest = [obj.id for obj in objs if obj.id not in matched]
        if rest and self._has_unlinked_ids(Deal, "hubspot_deal_id"):
            for deal in Deal.objects.filter(hubspot_deal_id__in=rest).select_related("account"):
                matched[deal.hubspot_deal_id] = deal
        decisions = []
        for obj in objs:
            remote = remote_of[obj.id]
            pipeline = obj.properties.get("pipeline") or "default"
            hubspot_stage = remote["stage"]
            stage = self.stage_of.get((pipeline, hubspot_stage))
            if not stage:
                result.fail(DEAL, obj, f"HubSpot deal stage '{hubspot_stage}' (pipeline {pipeline}) is not mapped "
                                       "to a stage here: map it in the HubSpot deal stages settings.")  # fmt: skip
                continue
            remote["stage"] = stage
            remote["pipeline"] = pipeline  # kept with the state: the write-back moves the deal in its pipeline
            account = accounts.get(remote["account"])
            deal = matched.get(obj.id)
            if account is None and deal is None:
                result.fail(DEAL, obj, "A deal needs an account here: associate the deal with a company in HubSpot "
                                       "(and let that company sync first).")  # fmt: skip
                continue
            lost_reason = self._lost_reason(obj.properties.get("closed_lost_reason"))
            unresolved = {"account"} if account is None else set()
            local = self.deal_local(deal) if deal else None
            d = self._decide(DEAL, obj, remote, local, states.get(obj.id), unresolved)
            try:
                with transaction.atomic():
                    if deal is None:
                        deal = deal_create(
                            tenant=self.tenant,
                            account=account,
                            name=d.local_after["name"] or f"HubSpot deal {obj.id}",
                            amount=Decimal(d.local_after["amount"]),
                            currency=(obj.properties.get("deal_currency_code") or account.currency).upper()[:3],
                            expected_close_date=_to_date(d.local_after["expected_close_date"]),
                            stage=stage,
                            lost_reason=lost_reason,
                            hubspot_deal_id=obj.id,
                        )
                        d.local_after = self.deal_local(deal)
                        result.created += 1
                    else:
                        was_closed = deal.stage in CLOSED_DEAL_STAGES
                        new_stage = d.local_after["stage"]
                        if was_closed and new_stage != deal.stage:
                            # Seed 002: a closed deal stays closed. Ours is pushed to HubSpot by the write-back.
                            d.local_after["stage"] = deal.stage
                            d.conflicts = [c for c in d.conflicts if c[0] != "stage"]
                            d.conflicts.append(("stage", deal.stage, stage, FieldOwner.PLATFORM))
                            d.push.add("stage")
                        values = {}
                        if d.local_after["name"] != local["name"]:
                            values["name"] = d.local_after["name"]
                        if d.local_after["amount"] != local["amount"]:
                            values["amount"] = Decimal(d.local_after["amount"])
                        if d.local_after["expected_close_date"] != local["expected_close_date"]:
                            values["expected_close_date"] = _to_date(d.local_after["expected_close_date"])
                        if d.local_after["account"] != local["account"] and account is not None:
                            values["account"] = account
                        if deal.hubspot_deal_id != obj.id:
                            values["hubspot_deal_id"] = obj.id
                        if values:
                            deal = deal_update(tenant=self.tenant, deal=deal, **values)
                        if d.local_after["stage"] != deal.stage:
                            deal = deal_stage_import(
                                tenant=self.tenant, deal=deal, to_stage=d.local_after["stage"], lost_reason=lost_reason
                            )
                        if values or d.local_after["stage"] != local["stage"]:
                            result.updated += 1
                        else:
                            result.unchanged += 1
                        d.local_after = self.deal_local(deal)
            except ValidationError as exc:
                result.fail(DEAL, obj, _message(exc))
                continue
            matched[obj.id] = deal
            decisions.append(d)
        self._remember(DEAL, decisions, {key: deal.pk for key, deal in matched.items()}, states, result)
        return result

    def _lost_reason(self, hubspot_reason: str | None) -> str:
        """HubSpot's free-text reason if it is one of the organization's reasons, else "Other" (or the last one)."""
        reason = (hubspot_reason or "").strip()
        if reason in self.lost_reasons:
            return reason
        if "Other" in self.lost_reasons:
            return "Other"
        return self.lost_reasons[-1] if self.lost_reasons else "Other"


_CONTACT_WRITABLE = {
    "email", "first_name", "last_name", "title", "lifecycle_stage", "lead_status", "account", "ffc_tier",
    "ffc_actions", "ffc_usage", "hubspot_contact_id", "updated_at",
}  # fmt: skip


def state_local(state: HubSpotRecordState, name: str) -> Any:
    """What we held of a field at the last sync: stored only where it differed from HubSpot's."""
    if name in state.local_values:
        return state.local_values[name]
    return state.remote_values.get(name, MISSING)


def _links_upsert(organization: Organization, object_type: str, links: list[tuple], now: datetime) -> None:
    """(HubSpot id, local id, HubSpot's last-modified, pushed fingerprint) rows into ExternalRecord, keyed on the
    HubSpot id: integrations.services.external_records_touch with the fingerprint."""
    integration_services.external_records_touch(
        organization=organization,
        source=SOURCE,
        object_type=object_type,
        links=[(external_id, local_id, updated) for external_id, local_id, updated, _ in links],
        fingerprints=[fingerprint for *_, fingerprint in links],
        now=now,
    )


def _states_upsert(organization: Organization, object_type: str, states: list[tuple], now: datetime) -> None:
    """(HubSpot id, HubSpot's values, ours where different, the written-back fields as HubSpot holds them) into
    HubSpotRecordState, in one statement."""
    bulk_upsert(
        HubSpotRecordState,
        (
            {
                "organization_id": organization.pk,
                "object_type": object_type,
                "external_id": external_id,
                "remote_values": remote,
                "local_values": local,
                "pushed_values": pushed,
                "updated_at": now,
            }
            for external_id, remote, local, pushed in states
        ),
        unique_fields=["organization", "object_type", "external_id"],
        update_fields=["remote_values", "local_values", "pushed_values", "updated_at"],
    )


def _commit_without_waiting_for_disk() -> None:
    """PostgreSQL: this transaction's commit does not wait for the WAL flush (SET LOCAL, this transaction only).

    Safe here because an import can always be applied again (upserts keyed on HubSpot ids), and what depends on it
    commits later and normally (the run's counts, the watermark, a webhook marked processed): PostgreSQL flushes
    the WAL in order, so when those are on disk this is too. A crash in between loses at most the last fraction of
    a second of imports, which the next run rewrites.
    """
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (value if isinstance(value, str | list | int | bool) or value is None else str(value))
        for key, value in values.items()
    }


def _label(object_type: str, values: dict[str, Any]) -> str:
    if object_type == CONTACT:
        return values.get("email") or ""
    return values.get("name") or ""


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "message_dict"):
            return "; ".join(f"{key}: {' '.join(messages)}" for key, messages in exc.message_dict.items())
        return " ".join(exc.messages)
    return f"{type(exc).__name__}: {exc}"
