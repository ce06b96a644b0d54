"""The usage ingest: the product's database reports daily metrics and feature events, in batches of up to 1,000.

Every row is checked on its own; a bad one is rejected with its index and reason and the rest are stored. The
writes are set-based, so a batch costs the same few statements whether it holds ten rows or a thousand: the
accounts named are looked up in three queries (ids, domains, external ids), metrics are one upsert keyed on
(account, day), new events one insert, and the adoption rows of the features touched are recomputed from the
stored events in one grouped query and one upsert.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Account
from core.bulk import bulk_upsert
from core.errors import ApplicationError
from core.events import DomainEvent, event_publish
from core.tenancy import Tenant
from usage.models import METRIC_FIELDS, AccountExternalId, DailyUsage, FeatureAdoption, FeatureEvent

MAX_BATCH_ROWS = 1000
ACCOUNT_KEYS = ("account", "account_domain", "account_external_id")
METRIC_ROW_KEYS = frozenset({*ACCOUNT_KEYS, "date", *METRIC_FIELDS})
EVENT_ROW_KEYS = frozenset({*ACCOUNT_KEYS, "event_id", "feature", "occurred_at"})
FEATURE_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Clocks differ and days end at different times around the world: a report a day ahead is still believed.
FUTURE_SLACK = timedelta(days=1)


class Reason:
    """Why a row was rejected; the API documents these codes."""

    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    UNKNOWN_ACCOUNT = "unknown_account"
    AMBIGUOUS_ACCOUNT = "ambiguous_account"
    CONFLICTING_ACCOUNT = "conflicting_account"
    BAD_DATE = "bad_date"
    BAD_COUNT = "bad_count"
    NEGATIVE_COUNT = "negative_count"
    BAD_FEATURE = "bad_feature"
    BAD_EVENT_ID = "bad_event_id"
    DUPLICATE_IN_BATCH = "duplicate_in_batch"

    ALL = (
        NOT_AN_OBJECT, UNKNOWN_FIELD, MISSING_FIELD, UNKNOWN_ACCOUNT, AMBIGUOUS_ACCOUNT, CONFLICTING_ACCOUNT, BAD_DATE,
        BAD_COUNT, NEGATIVE_COUNT, BAD_FEATURE, BAD_EVENT_ID, DUPLICATE_IN_BATCH,
    )  # fmt: skip


@dataclass
class Rejection:
    section: str
    index: int
    reason: str
    message: str


@dataclass
class IngestResult:
    metrics_accepted: int = 0
    events_accepted: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    external_ids_linked: int = 0


class _RowError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class _Accounts:
    """The accounts a batch names, looked up once for all its rows."""

    by_id: set[int]
    by_domain: dict[str, list[int]]
    by_external_id: dict[str, int]
    # External ids this batch links for the first time (seen beside an id or a domain).
    new_links: dict[str, int] = field(default_factory=dict)

    def resolve(self, row: Mapping[str, Any]) -> int:
        """The one account a row names; all identifiers given must agree. An unknown external id given beside a
        known id or domain is linked to that account, so later reports may send the external id alone."""
        found: dict[str, int] = {}
        if "account" in row:
            value = row["account"]
            if isinstance(value, bool) or not isinstance(value, int) or value not in self.by_id:
                raise _RowError(Reason.UNKNOWN_ACCOUNT, f"No account with id {value!r}.")
            found["account"] = value
        if "account_domain" in row:
            domain = _domain(row["account_domain"])
            matches = self.by_domain.get(domain or "", [])
            if not matches:
                raise _RowError(Reason.UNKNOWN_ACCOUNT, f"No account with domain {row['account_domain']!r}.")
            if len(matches) > 1:
                raise _RowError(
                    Reason.AMBIGUOUS_ACCOUNT,
                    f"{len(matches)} accounts have the domain {domain!r}; send `account` or `account_external_id`.",
                )
            found["account_domain"] = matches[0]
        external_id = row.get("account_external_id")
        if "account_external_id" in row:
            if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 100:
                raise _RowError(
                    Reason.UNKNOWN_ACCOUNT, "`account_external_id` must be a string of 1 to 100 characters."
                )
            linked = self.by_external_id.get(external_id, self.new_links.get(external_id))
            if linked is not None:
                found["account_external_id"] = linked
            elif not found:
                raise _RowError(
                    Reason.UNKNOWN_ACCOUNT,
                    f"No account has the external id {external_id!r}; send it once with `account` or "
                    "`account_domain` to link it.",
                )
        if not found and "account_external_id" not in row:
            raise _RowError(
                Reason.MISSING_FIELD, "Name the account: `account`, `account_domain` or `account_external_id`."
            )
        accounts = set(found.values())
        if len(accounts) > 1:
            named = ", ".join(f"{key} → {value}" for key, value in found.items())
            raise _RowError(Reason.CONFLICTING_ACCOUNT, f"The identifiers name different accounts ({named}).")
        account_id = accounts.pop()
        if isinstance(external_id, str) and "account_external_id" not in found:
            self.new_links[external_id] = account_id
        return account_id


def _domain(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()


def _accounts_named(rows: list[Mapping[str, Any]]) -> _Accounts:
    """Three queries whatever the batch size; the scope keeps another organization's accounts out of every one."""
    ids = {
        row["account"] for row in rows if isinstance(row.get("account"), int) and not isinstance(row["account"], bool)
    }
    domains = {domain for row in rows if (domain := _domain(row.get("account_domain")))}
    external_ids = {value for row in rows if isinstance(value := row.get("account_external_id"), str)}
    by_id = set(Account.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    by_domain: dict[str, list[int]] = {}
    if domains:
        matches = Account.objects.annotate(domain_lower=Lower("domain")).filter(domain_lower__in=domains)
        for pk, domain in matches.values_list("pk", "domain_lower"):
            by_domain.setdefault(domain, []).append(pk)
    by_external_id = (
        dict(AccountExternalId.objects.filter(external_id__in=external_ids).values_list("external_id", "account_id"))
        if external_ids
        else {}
    )
    return _Accounts(by_id=by_id, by_domain=by_domain, by_external_id=by_external_id)


def _check_keys(row: Any, allowed: frozenset[str], required: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(row, Mapping):
        raise _RowError(Reason.NOT_AN_OBJECT, "Each row is a JSON object.")
    unknown = sorted(set(row) - allowed)
    if unknown:
        raise _RowError(Reason.UNKNOWN_FIELD, f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.")
    missing = [key for key in required if key not in row]
    if missing:
        raise _RowError(Reason.MISSING_FIELD, f"Missing: {', '.join(missing)}.")
    return row


def _count(row: Mapping[str, Any], key: str) -> int:
    value = row[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _RowError(Reason.BAD_COUNT, f"`{key}` must be a whole number, not {value!r}.")
    if value < 0:
        raise _RowError(Reason.NEGATIVE_COUNT, f"`{key}` cannot be negative ({value}).")
    if value > 2_147_483_647:
        raise _RowError(Reason.BAD_COUNT, f"`{key}` is too large ({value}).")
    return value


def _day(value: Any, today: date) -> date:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_date(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise _RowError(Reason.BAD_DATE, f"`date` must be a day as YYYY-MM-DD, not {value!r}.")
    if parsed > today + FUTURE_SLACK:
        raise _RowError(Reason.BAD_DATE, f"`date` {parsed.isoformat()} is in the future.")
    return parsed


def _moment(value: Any, now: datetime) -> datetime:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise _RowError(Reason.BAD_DATE, f"`occurred_at` must be an ISO 8601 time, not {value!r}.")
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)  # the product's database keeps UTC; a time without an offset is UTC
    if parsed > now + FUTURE_SLACK:
        raise _RowError(Reason.BAD_DATE, f"`occurred_at` {parsed.isoformat()} is in the future.")
    return parsed


def usage_ingest(
    *, tenant: Tenant, metrics: list[Any] | None = None, events: list[Any] | None = None, now: datetime | None = None
) -> IngestResult:
    """Store a batch of daily metrics and feature events for the tenant's accounts.

    Rules: at most 1,000 rows in all (more is refused whole); a metric row replaces the account's counts for that
    day; an event id already stored is a duplicate and changes nothing; a row naming an account of another
    organization is an unknown account; a feature's adoption (first and last use, event count) follows its events.
    """
    metrics, events = list(metrics or []), list(events or [])
    total = len(metrics) + len(events)
    if total > MAX_BATCH_ROWS:
        raise ApplicationError(
            f"A batch holds at most {MAX_BATCH_ROWS:,} rows (metrics and events together); this one has {total:,}. "
            "Split it and send the parts one after another."
        )
    now = now or timezone.now()
    today = timezone.localdate(now)
    organization = tenant.organization
    result = IngestResult()
    accounts = _accounts_named([row for row in (*metrics, *events) if isinstance(row, Mapping)])

    metric_rows: dict[tuple[int, date], dict[str, Any]] = {}
    for index, row in enumerate(metrics):
        try:
            row = _check_keys(row, METRIC_ROW_KEYS, ("date", *METRIC_FIELDS))
            day = _day(row["date"], today)
            counts = {key: _count(row, key) for key in METRIC_FIELDS}
            account_id = accounts.resolve(row)
            if (account_id, day) in metric_rows:
                raise _RowError(
                    Reason.DUPLICATE_IN_BATCH,
                    f"Row {metric_rows[account_id, day]['_index']} already reports this account on {day.isoformat()}.",
                )
        except _RowError as error:
            result.rejected.append(Rejection("metrics", index, error.reason, error.message))
            continue
        metric_rows[account_id, day] = {"_index": index, "account_id": account_id, "day": day, **counts}

    event_rows: dict[str, dict[str, Any]] = {}
    for index, row in enumerate(events):
        try:
            row = _check_keys(row, EVENT_ROW_KEYS, ("event_id", "feature", "occurred_at"))
            event_id = row["event_id"]
            if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 100:
                raise _RowError(Reason.BAD_EVENT_ID, "`event_id` must be a string of 1 to 100 characters.")
            feature = row["feature"]
            if not isinstance(feature, str) or not FEATURE_KEY.fullmatch(feature):
                raise _RowError(
                    Reason.BAD_FEATURE,
                    f"`feature` must be a lowercase key such as snapshot_created (letters, digits, _): {feature!r}.",
                )
            occurred_at = _moment(row["occurred_at"], now)
            account_id = accounts.resolve(row)
            if event_id in event_rows:
                raise _RowError(
                    Reason.DUPLICATE_IN_BATCH, f"Row {event_rows[event_id]['_index']} already sends event {event_id!r}."
                )
        except _RowError as error:
            result.rejected.append(Rejection("events", index, error.reason, error.message))
            continue
        event_rows[event_id] = {
            "_index": index,
            "account_id": account_id,
            "feature": feature,
            "event_id": event_id,
            "occurred_at": occurred_at,
        }

    with transaction.atomic():
        if connection.vendor == "postgresql" and event_rows:
            # Adoption is recomputed from the stored events: two batches for one organization at once would each
            # count without the other's uncommitted events, so they take turns (SQLite writes one at a time anyway).
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x05A6E, organization.pk])
        if accounts.new_links:
            AccountExternalId.objects.bulk_create(
                [
                    AccountExternalId(organization=organization, account_id=account_id, external_id=external_id)
                    for external_id, account_id in accounts.new_links.items()
                ],
                ignore_conflicts=True,
            )
            result.external_ids_linked = len(accounts.new_links)
        if metric_rows:
            bulk_upsert(
                DailyUsage,
                [
                    {"organization_id": organization.pk, "reported_at": now, **_without_index(row)}
                    for row in metric_rows.values()
                ],
                unique_fields=["account", "day"],
                update_fields=[*METRIC_FIELDS, "reported_at"],
            )
            result.metrics_accepted = len(metric_rows)
        if event_rows:
            stored = set(FeatureEvent.objects.filter(event_id__in=event_rows).values_list("event_id", flat=True))
            for event_id in stored:
                result.duplicates.append({"index": event_rows[event_id]["_index"], "event_id": event_id})
            result.duplicates.sort(key=lambda item: item["index"])
            new = [row for event_id, row in event_rows.items() if event_id not in stored]
            FeatureEvent.objects.bulk_create(
                [FeatureEvent(organization=organization, received_at=now, **_without_index(row)) for row in new],
                ignore_conflicts=True,  # an id another batch stored a moment ago stays as it was
            )
            result.events_accepted = len(new)
            _adoption_refresh(
                organization_id=organization.pk, pairs={(r["account_id"], r["feature"]) for r in new}, now=now
            )
        _usage_reported_publish(
            organization_id=organization.pk, metric_rows=metric_rows, new_events=new if event_rows else [], now=now
        )
    return result


def _usage_reported_publish(
    *,
    organization_id: int,
    metric_rows: dict[tuple[int, date], dict[str, Any]],
    new_events: list[dict[str, Any]],
    now: datetime,
) -> None:
    """One "usage.reported" event per account the batch touched, naming the features of its newly stored events
    (a re-sent event is not news), so health recomputes that account and usage triggers can fire."""
    features_by_account: dict[int, set[str]] = {account_id: set() for account_id, _day in metric_rows}
    for row in new_events:
        features_by_account.setdefault(row["account_id"], set()).add(row["feature"])
    for account_id, features in features_by_account.items():
        event_publish(
            DomainEvent(
                organization_id=organization_id,
                name="usage.reported",
                account_id=account_id,
                object_type="account",
                object_id=account_id,
                payload={"features": sorted(features)},
                occurred_at=now,
            )
        )


def _without_index(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "_index"}


def _adoption_refresh(*, organization_id: int, pairs: set[tuple[int, str]], now: datetime) -> None:
    """First use, last use and count of each (account, feature) touched, from its stored events: one grouped
    query and one upsert, so an event arriving late (older than the first use known) moves the first-use date."""
    if not pairs:
        return
    totals = (
        FeatureEvent.objects.filter(account_id__in={a for a, _ in pairs}, feature__in={f for _, f in pairs})
        .values("account_id", "feature")
        .annotate(first=Min("occurred_at"), last=Max("occurred_at"), count=Count("id"))
        .order_by()
    )
    bulk_upsert(
        FeatureAdoption,
        [
            {
                "organization_id": organization_id,
                "account_id": row["account_id"],
                "feature": row["feature"],
                "first_used_at": row["first"],
                "last_used_at": row["last"],
                "event_count": row["count"],
                "updated_at": now,
            }
            for row in totals
            if (row["account_id"], row["feature"]) in pairs
        ],
        unique_fields=["account", "feature"],
        update_fields=["first_used_at", "last_used_at", "event_count", "updated_at"],
    )
