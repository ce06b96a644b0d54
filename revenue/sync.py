"""Stripe → our tables: reading Stripe's objects (today's shapes, and the older ones localstripe still serves), bulk
upserts keyed on (organization, stripe_id), customer → account linking, and the two kinds of run the integrations
foundation asks for (a full reconcile, and an incremental pass over the Events API).

Everything here is idempotent: an object applied twice writes the same row, and a late event older than what a row
holds is skipped (`remote_updated_at`). When an event is exactly as old as the row (Stripe's `created` is in whole
seconds, so two changes in one second tie), the object is fetched again from the API instead of trusting either
snapshot.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Account
from core.events import DomainEvent, event_publish
from core.models import Organization
from integrations.models import Connection, Source, SyncKind, SyncRun, WebhookStatus
from integrations.registry import ConnectionCheck, TransientSyncError
from integrations.services import (
    external_records_touch,
    sync_error_record,
    sync_run_advance,
    sync_run_finish,
    sync_watermark_advance,
    webhook_event_claim,
    webhook_event_done,
    webhook_event_record,
)
from revenue.models import (
    StripeCustomer,
    StripeCustomerLink,
    StripeInvoice,
    StripePrice,
    StripeSubscription,
    StripeSubscriptionItem,
)
from revenue.stripe_client import TRANSIENT_STRIPE_ERRORS, as_dict, stripe_client_for

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Incremental passes re-read this much before the watermark: an event Stripe records a little late (or our clock
# a little ahead) is still seen. Re-applying an event is harmless.
WATERMARK_OVERLAP = timedelta(minutes=5)
# The Events API keeps 30 days; with no watermark (or an older one) an incremental pass becomes a full reconcile.
EVENTS_RETENTION = timedelta(days=30)
REPAIRED_IDS_KEPT = 50


def stripe_time(value: Any) -> datetime | None:
    """Stripe's Unix seconds as an aware UTC time (None for an unset field)."""
    if value in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _id_of(value: Any) -> str:
    """An expandable field: an id, or the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


# --- Reading Stripe's objects ---------------------------------------------------------------------------------------


def price_values(price: dict[str, Any]) -> dict[str, Any]:
    """A Price (price_…, `recurring.interval`) or a legacy Plan (plan_…, `interval`, `amount`)."""
    recurring = price.get("recurring") or {}
    unit_amount = price.get("unit_amount", price.get("amount"))
    return {
        "stripe_id": str(price["id"]),
        "product_id": _id_of(price.get("product")),
        "nickname": str(price.get("nickname") or "")[:256],
        "currency": str(price.get("currency") or "").lower(),
        "unit_amount": int(unit_amount) if unit_amount is not None else None,
        "interval": str(recurring.get("interval") or price.get("interval") or ""),
        "interval_count": int(recurring.get("interval_count") or price.get("interval_count") or 1),
        "active": bool(price.get("active", True)),
    }


def customer_values(customer: dict[str, Any]) -> dict[str, Any]:
    return {
        "stripe_id": str(customer["id"]),
        "email": str(customer.get("email") or "")[:254],
        "name": str(customer.get("name") or "")[:256],
        "metadata": dict(customer.get("metadata") or {}),
        "currency": str(customer.get("currency") or "").lower()[:3],
        "deleted": bool(customer.get("deleted")),
        "stripe_created": stripe_time(customer.get("created")),
    }


def _coupon_of(discount: Any) -> dict[str, Any] | None:
    """The coupon of an expanded discount: `source.coupon` since API 2025-09-30 ("clover"), `coupon` before."""
    if not isinstance(discount, dict):
        return None
    coupon = (discount.get("source") or {}).get("coupon") or discount.get("coupon")
    return coupon if isinstance(coupon, dict) else None


def discounts_unexpanded(subscription: dict[str, Any]) -> bool:
    """Webhook payloads carry discounts as ids: we must fetch the subscription (expanded) to know the coupon."""
    discounts = list(subscription.get("discounts") or [])
    return any(_coupon_of(discount) is None for discount in discounts)


def subscription_complete(client: stripe.StripeClient | None, subscription: dict[str, Any]) -> dict[str, Any]:
    """What the ledger needs that a payload may lack: the coupons behind discount ids (fetched expanded), and the
    items beyond the first page of `items` (listed)."""
    if client is None:
        return subscription
    if discounts_unexpanded(subscription):
        subscription = as_dict(client.v1.subscriptions.retrieve(subscription["id"], params=_EXPAND_DISCOUNTS))
    if (subscription.get("items") or {}).get("has_more"):
        items = client.v1.subscription_items.list(params={"subscription": subscription["id"], "limit": 100})
        subscription["items"] = {"object": "list", "data": [as_dict(item) for item in items.auto_paging_iter()]}
    return subscription


def subscription_values(subscription: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    items = []
    for item in (subscription.get("items") or {}).get("data") or []:
        price = item.get("price") or item.get("plan") or {}
        values = price_values(price) if isinstance(price, dict) and price.get("id") else {}
        items.append(
            {
                "stripe_id": str(item["id"]),
                "price_stripe_id": values.get("stripe_id", _id_of(price)),
                "product_id": values.get("product_id", ""),
                "currency": values.get("currency", ""),
                "unit_amount": values.get("unit_amount"),
                "interval": values.get("interval", ""),
                "interval_count": values.get("interval_count", 1),
                "quantity": int(item.get("quantity") or 1),
                # Item-level since API 2025-03-31 ("basil"); older shapes (localstripe) keep them on the subscription.
                "current_period_start": stripe_time(
                    item.get("current_period_start") or subscription.get("current_period_start")
                ),
                "current_period_end": stripe_time(
                    item.get("current_period_end") or subscription.get("current_period_end")
                ),
                "_price": values,
            }
        )
    percent_off = amount_off = None
    discount_currency = ""
    discounts = list(subscription.get("discounts") or [])
    if subscription.get("discount"):  # the single `discount` of older API versions
        discounts.append(subscription["discount"])
    for discount in discounts:
        coupon = _coupon_of(discount)
        if coupon is None:
            continue
        if coupon.get("percent_off") is not None:
            percent_off = Decimal(str(coupon["percent_off"]))
        elif coupon.get("amount_off") is not None:
            amount_off = int(coupon["amount_off"])
            discount_currency = str(coupon.get("currency") or "").lower()
        break  # one subscription-level coupon is what the ledger models; more stack rarely and are listed as is
    starts = [item["current_period_start"] for item in items if item["current_period_start"]]
    ends = [item["current_period_end"] for item in items if item["current_period_end"]]
    values = {
        "stripe_id": str(subscription["id"]),
        "customer_stripe_id": _id_of(subscription.get("customer")),
        "status": str(subscription.get("status") or ""),
        "currency": str(subscription.get("currency") or (items[0]["currency"] if items else "")).lower(),
        "cancel_at_period_end": bool(subscription.get("cancel_at_period_end")),
        "cancel_at": stripe_time(subscription.get("cancel_at")),
        "canceled_at": stripe_time(subscription.get("canceled_at")),
        "ended_at": stripe_time(subscription.get("ended_at")),
        "trial_end": stripe_time(subscription.get("trial_end")),
        "start_date": stripe_time(subscription.get("start_date")),
        "current_period_start": min(starts) if starts else None,
        "current_period_end": max(ends) if ends else None,
        "discount_percent_off": percent_off,
        "discount_amount_off": amount_off,
        "discount_currency": discount_currency,
        "latest_invoice_id": _id_of(subscription.get("latest_invoice")),
    }
    return values, items


def invoice_values(invoice: dict[str, Any]) -> dict[str, Any]:
    parent = invoice.get("parent") or {}
    subscription_id = _id_of(invoice.get("subscription")) or _id_of(
        (parent.get("subscription_details") or {}).get("subscription")
    )
    transitions = invoice.get("status_transitions") or {}
    return {
        "stripe_id": str(invoice["id"]),
        "customer_stripe_id": _id_of(invoice.get("customer")),
        "subscription_stripe_id": subscription_id,
        "number": str(invoice.get("number") or ""),
        "status": str(invoice.get("status") or ""),
        "collection_method": str(invoice.get("collection_method") or ""),
        "currency": str(invoice.get("currency") or "").lower(),
        "amount_due": int(invoice.get("amount_due") or 0),
        "amount_paid": int(invoice.get("amount_paid") or 0),
        "amount_remaining": int(invoice.get("amount_remaining") or 0),
        "total": int(invoice.get("total") or 0),
        "hosted_invoice_url": str(invoice.get("hosted_invoice_url") or "")[:500],
        "due_date": stripe_time(invoice.get("due_date")),
        "paid_at": stripe_time(transitions.get("paid_at")),
        "stripe_created": stripe_time(invoice.get("created")),
    }


# --- Bulk upserts ---------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    changed_ids: list[str] = field(default_factory=list)
    stale_ids: list[str] = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.stale += other.stale
        self.changed_ids.extend(other.changed_ids)
        self.stale_ids.extend(other.stale_ids)

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "stale": self.stale}


@dataclass
class Refresh:
    """What an apply touched, for the ledger: accounts whose revenue may have moved, and when."""

    account_ids: set[int] = field(default_factory=set)
    customers_relinked: set[str] = field(default_factory=set)


def _upsert(
    model: type[models.Model],
    *,
    organization: Organization,
    rows: list[dict[str, Any]],
    compare: Iterable[str],
    remote_updated_at: datetime | None,
    guard: bool,
    now: datetime,
) -> tuple[Tally, set[str]]:
    """Writes new and changed rows in one INSERT … ON CONFLICT (organization, stripe_id) DO UPDATE, and only touches
    `last_synced_at` of unchanged ones. With `guard`, a row whose stored remote change is newer is left alone.

    Returns the tally and the ids written.
    """
    compare = list(compare)
    tally = Tally()
    if not rows:
        return tally, set()
    has_remote = any(f.name == "remote_updated_at" for f in model._meta.fields)
    ids = [row["stripe_id"] for row in rows]
    wanted = ["stripe_id", *compare] + (["remote_updated_at"] if has_remote else [])
    existing = {values["stripe_id"]: values for values in model.objects.filter(stripe_id__in=ids).values(*wanted)}
    to_write: list[models.Model] = []
    unchanged: list[str] = []
    written: set[str] = set()
    for row in rows:
        stored = existing.get(row["stripe_id"])
        stored_at = stored.get("remote_updated_at") if stored and has_remote else None
        if guard and stored_at and remote_updated_at and remote_updated_at < stored_at:
            tally.stale += 1
            tally.stale_ids.append(row["stripe_id"])
            continue
        if stored is not None and all(stored[name] == row[name] for name in compare):
            unchanged.append(row["stripe_id"])
            continue
        values = dict(row)
        if has_remote:
            values["remote_updated_at"] = remote_updated_at or now
        to_write.append(model(organization=organization, last_synced_at=now, **values))
        written.add(row["stripe_id"])
        if stored is None:
            tally.created += 1
        else:
            tally.updated += 1
            tally.changed_ids.append(row["stripe_id"])
    if to_write:
        update_fields = [*compare, "last_synced_at"] + (["remote_updated_at"] if has_remote else [])
        model.objects.bulk_create(
            to_write,
            update_conflicts=True,
            unique_fields=["organization", "stripe_id"],
            update_fields=update_fields,
            batch_size=BATCH_SIZE,
        )
    if unchanged:
        touched = {"last_synced_at": now}
        if has_remote and remote_updated_at:
            # Known to be current as of this change (never older than the stored one: the guard saw to that).
            touched["remote_updated_at"] = remote_updated_at
        model.objects.filter(stripe_id__in=unchanged).update(**touched)
    tally.unchanged += len(unchanged)
    return tally, written


PRICE_FIELDS = ("product_id", "nickname", "currency", "unit_amount", "interval", "interval_count", "active")
CUSTOMER_FIELDS = ("email", "name", "metadata", "currency", "deleted", "stripe_created")
SUBSCRIPTION_FIELDS = (
    "customer_stripe_id", "account_id", "status", "currency", "cancel_at_period_end", "cancel_at", "canceled_at",
    "ended_at", "trial_end", "start_date", "current_period_start", "current_period_end", "discount_percent_off",
    "discount_amount_off", "discount_currency", "latest_invoice_id",
)  # fmt: skip
ITEM_FIELDS = (
    "subscription_id", "price_stripe_id", "product_id", "currency", "unit_amount", "interval", "interval_count",
    "quantity", "current_period_start", "current_period_end",
)  # fmt: skip
INVOICE_FIELDS = (
    "customer_stripe_id", "account_id", "subscription_stripe_id", "number", "status", "collection_method", "currency",
    "amount_due", "amount_paid", "amount_remaining", "total", "hosted_invoice_url", "due_date", "paid_at",
    "stripe_created",
)  # fmt: skip


def _customer_accounts(customer_ids: Iterable[str]) -> dict[str, int | None]:
    return dict(StripeCustomer.objects.filter(stripe_id__in=set(customer_ids)).values_list("stripe_id", "account_id"))


def prices_apply(*, organization: Organization, prices: list[dict[str, Any]], now: datetime | None = None) -> Tally:
    now = now or timezone.now()
    rows = {}
    for price in prices:
        values = price_values(price)
        rows[values["stripe_id"]] = values
    tally, _ = _upsert(
        StripePrice,
        organization=organization,
        rows=list(rows.values()),
        compare=PRICE_FIELDS,
        remote_updated_at=None,
        guard=False,
        now=now,
    )
    return tally


def customers_apply(
    *,
    organization: Organization,
    customers: list[dict[str, Any]],
    remote_updated_at: datetime | None = None,
    guard: bool = False,
    now: datetime | None = None,
    refresh: Refresh | None = None,
) -> tuple[Tally, set[str]]:
    """Upserts customers, then links every one not linked by a member to its account (see `customers_link`)."""
    now = now or timezone.now()
    rows = []
    for customer in customers:
        values = customer_values(customer)
        if values["deleted"]:
            # A deleted customer's object is just {id, deleted}: keep what we knew of it, marked deleted.
            stored = StripeCustomer.objects.filter(stripe_id=values["stripe_id"]).values(*CUSTOMER_FIELDS).first()
            values = {**(stored or values), "stripe_id": values["stripe_id"], "deleted": True}
        rows.append(values)
    tally, written = _upsert(
        StripeCustomer,
        organization=organization,
        rows=rows,
        compare=CUSTOMER_FIELDS,
        remote_updated_at=remote_updated_at,
        guard=guard,
        now=now,
    )
    customers_link(organization=organization, stripe_ids=[row["stripe_id"] for row in rows], refresh=refresh)
    return tally, written


def customers_link(*, organization: Organization, stripe_ids: list[str], refresh: Refresh | None = None) -> int:
    """Links customers to accounts: the account that stores the customer id, else the customer's metadata
    (`account_id`, then `domain`), else its email's domain against Account.domain. A domain shared by two accounts
    links nothing: the customer waits in the review queue, as does one that matches nothing. A link made by a member
    is never changed here. Returns how many links changed."""
    customers = list(
        StripeCustomer.objects.filter(stripe_id__in=stripe_ids).exclude(linked_by=StripeCustomerLink.MANUAL)
    )
    if not customers:
        return 0
    by_stored_id = dict(
        Account.objects.filter(stripe_customer_id__in=[c.stripe_id for c in customers]).values_list(
            "stripe_customer_id", "pk"
        )
    )
    wanted_pks = set()
    wanted_domains = set()
    for customer in customers:
        raw_pk = str(customer.metadata.get("account_id") or "")
        if raw_pk.isdigit():
            wanted_pks.add(int(raw_pk))
        for domain in (str(customer.metadata.get("domain") or ""), customer.email_domain):
            if domain:
                wanted_domains.add(_normal_domain(domain))
    existing_pks = set(Account.objects.filter(pk__in=wanted_pks).values_list("pk", flat=True))
    by_domain: dict[str, int | None] = {}
    for domain, pk in Account.objects.filter(domain__in=wanted_domains).values_list("domain", "pk"):
        by_domain[domain] = None if domain in by_domain else pk  # two accounts, one domain: ambiguous
    changed: list[StripeCustomer] = []
    for customer in customers:
        account_id, how = None, ""
        raw_pk = str(customer.metadata.get("account_id") or "")
        meta_domain = _normal_domain(str(customer.metadata.get("domain") or ""))
        if customer.stripe_id in by_stored_id:
            account_id, how = by_stored_id[customer.stripe_id], StripeCustomerLink.STORED_ID
        elif raw_pk.isdigit() and int(raw_pk) in existing_pks:
            account_id, how = int(raw_pk), StripeCustomerLink.METADATA
        elif meta_domain and by_domain.get(meta_domain):
            account_id, how = by_domain[meta_domain], StripeCustomerLink.METADATA
        elif customer.email_domain and by_domain.get(customer.email_domain):
            account_id, how = by_domain[customer.email_domain], StripeCustomerLink.EMAIL_DOMAIN
        if account_id is None and customer.account_id is not None and customer.linked_by == StripeCustomerLink.CREATED:
            continue  # an account created from this customer stays its account
        if (customer.account_id, customer.linked_by) != (account_id, how):
            customer.account_id, customer.linked_by = account_id, how
            changed.append(customer)
    if changed:
        StripeCustomer.objects.bulk_update(changed, ["account", "linked_by"], batch_size=BATCH_SIZE)
        customer_accounts_propagate(customers=changed, refresh=refresh)
    return len(changed)


def _normal_domain(domain: str) -> str:
    domain = domain.strip().lower()
    for prefix in ("https://", "http://", "www."):
        domain = domain.removeprefix(prefix)
    return domain.rstrip("/")


def customer_accounts_propagate(*, customers: Iterable[StripeCustomer], refresh: Refresh | None) -> None:
    """A customer's account changed: its subscriptions and invoices follow (one UPDATE each for the whole batch),
    and both the old and the new accounts' revenue is refreshed."""
    account_of = {customer.stripe_id: customer.account_id for customer in customers}
    if not account_of:
        return
    subscriptions = StripeSubscription.objects.filter(customer_stripe_id__in=list(account_of))
    previous = set(subscriptions.exclude(account_id=None).values_list("account_id", flat=True))
    new_account = models.Case(
        *[models.When(customer_stripe_id=customer_id, then=models.Value(pk)) for customer_id, pk in account_of.items()],
        output_field=models.BigIntegerField(null=True),
    )
    if previous or subscriptions.exists():
        subscriptions.update(account_id=new_account)
    invoices = StripeInvoice.objects.filter(customer_stripe_id__in=list(account_of))
    if invoices.exists():
        invoices.update(account_id=new_account)
    if refresh is not None:
        refresh.account_ids |= previous
        refresh.account_ids |= {pk for pk in account_of.values() if pk}
        refresh.customers_relinked |= set(account_of)


def subscriptions_apply(
    *,
    organization: Organization,
    subscriptions: list[dict[str, Any]],
    remote_updated_at: datetime | None = None,
    guard: bool = False,
    now: datetime | None = None,
    refresh: Refresh | None = None,
) -> tuple[Tally, set[str]]:
    """Upserts subscriptions, their items (dropping items no longer there) and the prices the items carry.

    A subscription counts as changed when its own fields or any of its items changed (a new quantity changes only
    the item).
    """
    now = now or timezone.now()
    accounts = _customer_accounts(_id_of(s.get("customer")) for s in subscriptions)
    rows, items_by_subscription, prices = [], {}, {}
    for subscription in subscriptions:
        values, items = subscription_values(subscription)
        values["account_id"] = accounts.get(values["customer_stripe_id"])
        rows.append(values)
        items_by_subscription[values["stripe_id"]] = items
        for item in items:
            if item["_price"]:
                prices[item["_price"]["stripe_id"]] = item["_price"]
    previous_accounts = dict(
        StripeSubscription.objects.filter(stripe_id__in=[row["stripe_id"] for row in rows]).values_list(
            "stripe_id", "account_id"
        )
    )
    tally, written = _upsert(
        StripeSubscription,
        organization=organization,
        rows=rows,
        compare=SUBSCRIPTION_FIELDS,
        remote_updated_at=remote_updated_at,
        guard=guard,
        now=now,
    )
    if prices:
        _upsert(
            StripePrice,
            organization=organization,
            rows=list(prices.values()),
            compare=PRICE_FIELDS,
            remote_updated_at=None,
            guard=False,
            now=now,
        )
    current = {row["stripe_id"] for row in rows} - set(tally.stale_ids)
    pks = dict(StripeSubscription.objects.filter(stripe_id__in=current).values_list("stripe_id", "pk"))
    owner_of: dict[str, str] = {}
    item_rows = []
    for subscription_id in current:
        for item in items_by_subscription[subscription_id]:
            owner_of[item["stripe_id"]] = subscription_id
            item_rows.append(
                {key: value for key, value in item.items() if key != "_price"}
                | {"subscription_id": pks[subscription_id]}
            )
    _, items_written = _upsert(
        StripeSubscriptionItem,
        organization=organization,
        rows=item_rows,
        compare=ITEM_FIELDS,
        remote_updated_at=None,
        guard=False,
        now=now,
    )
    items_changed = {owner_of[item_id] for item_id in items_written}
    subscription_of_pk = {pk: stripe_id for stripe_id, pk in pks.items()}
    gone = [
        (pk, subscription_pk)
        for pk, item_id, subscription_pk in StripeSubscriptionItem.objects.filter(
            subscription_id__in=list(pks.values())
        ).values_list("pk", "stripe_id", "subscription_id")
        if item_id not in owner_of
    ]
    if gone:
        StripeSubscriptionItem.objects.filter(pk__in=[pk for pk, _ in gone]).delete()
        items_changed |= {subscription_of_pk[subscription_pk] for _, subscription_pk in gone}
    for subscription_id in items_changed - written:
        tally.unchanged -= 1
        tally.updated += 1
        tally.changed_ids.append(subscription_id)
    written |= items_changed
    from churn.services import churn_case_suggest_from_stripe  # churn builds on revenue: imported here (issue 8)

    churn_case_suggest_from_stripe(organization=organization, subscription_stripe_ids=written)
    if refresh is not None:
        for row in rows:
            if row["stripe_id"] in written:
                refresh.account_ids |= {
                    a for a in (row["account_id"], previous_accounts.get(row["stripe_id"])) if a is not None
                }
    return tally, written


def invoices_apply(
    *,
    organization: Organization,
    invoices: list[dict[str, Any]],
    remote_updated_at: datetime | None = None,
    guard: bool = False,
    now: datetime | None = None,
) -> tuple[Tally, set[str]]:
    now = now or timezone.now()
    accounts = _customer_accounts(_id_of(i.get("customer")) for i in invoices)
    rows = []
    for invoice in invoices:
        values = invoice_values(invoice)
        values["account_id"] = accounts.get(values["customer_stripe_id"])
        rows.append(values)
    tally, written = _upsert(
        StripeInvoice,
        organization=organization,
        rows=rows,
        compare=INVOICE_FIELDS,
        remote_updated_at=remote_updated_at,
        guard=guard,
        now=now,
    )
    _invoices_changed_publish(organization=organization, rows=[row for row in rows if row["stripe_id"] in written])
    return tally, written


def _invoices_changed_publish(*, organization: Organization, rows: list[dict[str, Any]]) -> None:
    """One "revenue.invoices_changed" event per account whose invoices changed (a payment failed, or came in), so
    its billing health is recomputed at once rather than at night."""
    by_account: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        if row["account_id"]:
            by_account[row["account_id"]].append(row["status"])
    for account_id, statuses in by_account.items():
        event_publish(
            DomainEvent(
                organization_id=organization.pk,
                name="revenue.invoices_changed",
                account_id=account_id,
                object_type="account",
                object_id=account_id,
                payload={"statuses": sorted(set(statuses))},
            )
        )


# --- One event (webhook or Events API) ------------------------------------------------------------------------------

_APPLIERS: dict[str, tuple[Callable[..., Any], str, type[models.Model], str]] = {
    # prefix: (apply function, its keyword, model, how to fetch it again)
    "customer.subscription.": (subscriptions_apply, "subscriptions", StripeSubscription, "subscriptions"),
    "invoice.": (invoices_apply, "invoices", StripeInvoice, "invoices"),
    "customer.": (customers_apply, "customers", StripeCustomer, "customers"),
}
_EXPAND_DISCOUNTS = {"expand": ["discounts.source.coupon"]}


def stripe_event_apply(
    *, organization: Organization, event: dict[str, Any], client: stripe.StripeClient | None
) -> tuple[str, Refresh]:
    """Applies one event: "applied", "unchanged", "stale" (older than what we hold) or "ignored" (not followed).

    Out of order never rolls back: an event older than the stored row is skipped; one exactly as old (same second)
    makes us fetch the object again, since either snapshot could be the later one.
    """
    refresh = Refresh()
    event_type = str(event.get("type") or "")
    obj = dict((event.get("data") or {}).get("object") or {})
    occurred_at = stripe_time(event.get("created")) or timezone.now()
    if event_type.startswith(("price.", "plan.")):
        tally = prices_apply(organization=organization, prices=[obj])
        return ("applied" if tally.created or tally.updated else "unchanged"), refresh
    match = next((prefix for prefix in _APPLIERS if event_type.startswith(prefix)), None)
    if match is None or not obj.get("id") or (match == "customer." and obj.get("object") != "customer"):
        return "ignored", refresh
    apply, keyword, model, service = _APPLIERS[match]
    if match == "invoice." and obj.get("deleted"):
        # A draft deleted in Stripe: its event carries only {id, deleted}; keep the row, marked.
        deleted = StripeInvoice.objects.filter(stripe_id=obj["id"]).update(
            status="deleted", last_synced_at=timezone.now()
        )
        return ("applied" if deleted else "ignored"), refresh
    stored = model.objects.filter(stripe_id=obj["id"]).values_list("remote_updated_at", flat=True).first()
    if stored is not None and occurred_at < stored:
        return "stale", refresh
    needs_fetch = stored is not None and occurred_at == stored and not obj.get("deleted")
    if needs_fetch and client is not None:
        params = _EXPAND_DISCOUNTS if match == "customer.subscription." else None
        obj = as_dict(getattr(client.v1, service).retrieve(obj["id"], params=params))
    if match == "customer.subscription.":
        obj = subscription_complete(client, obj)
    customer_id = _id_of(obj.get("customer")) if match != "customer." else ""
    if customer_id and client is not None and not StripeCustomer.objects.filter(stripe_id=customer_id).exists():
        # Deliveries come in any order: a subscription may arrive before its customer. Fetch the customer now so
        # the subscription lands on its account at once.
        try:
            fetched = as_dict(client.v1.customers.retrieve(customer_id))
        except stripe.InvalidRequestError:  # gone (or never visible to this key): the link waits for a reconcile
            fetched = None
        if fetched:
            customers_apply(
                organization=organization,
                customers=[fetched],
                remote_updated_at=timezone.now(),
                guard=True,
                refresh=refresh,
            )
    kwargs: dict[str, Any] = {keyword: [obj], "remote_updated_at": occurred_at, "guard": True}
    if match != "invoice.":
        kwargs["refresh"] = refresh
    tally, written = apply(organization=organization, **kwargs)
    if tally.stale:
        return "stale", refresh
    return ("applied" if written else "unchanged"), refresh


def _touch_accounts(organization: Organization, links: dict[str, int | None]) -> None:
    """The foundation's "last synced" of each account fed by a Stripe customer."""
    external_records_touch(
        organization=organization,
        source=Source.STRIPE,
        object_type="account",
        links=[(customer_id, account_id, None) for customer_id, account_id in links.items() if customer_id],
    )


def webhook_event_process(*, organization: Organization, event_pk: int, client: stripe.StripeClient | None) -> str:
    """Applies a recorded event once: claimed by compare-and-set, so a duplicate delivery or a second worker does
    nothing; the ledger follows in the same transaction."""
    from revenue.services import revenue_refresh

    event = webhook_event_claim(event_pk)
    if event is None:
        return "duplicate"
    try:
        with transaction.atomic():
            outcome, refresh = stripe_event_apply(organization=organization, event=event.payload, client=client)
            if refresh.account_ids:
                revenue_refresh(
                    organization=organization,
                    account_ids=refresh.account_ids,
                    occurred_at=event.occurred_at,
                    reason=event.event_id,
                )
            if outcome in ("applied", "unchanged"):
                _touch_customer_of(organization, event.payload)
    except TRANSIENT_STRIPE_ERRORS:
        webhook_event_done(event, status=WebhookStatus.FAILED, error="Stripe could not be reached; retrying.")
        raise
    except Exception as exc:
        logger.exception("Applying Stripe event %s failed", event.event_id)
        webhook_event_done(event, status=WebhookStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    status = WebhookStatus.PROCESSED if outcome in ("applied", "unchanged") else WebhookStatus.IGNORED
    webhook_event_done(event, status=status, error="" if status == WebhookStatus.PROCESSED else outcome)
    return outcome


def _touch_customer_of(organization: Organization, event: dict[str, Any]) -> None:
    obj = (event.get("data") or {}).get("object") or {}
    customer_id = obj.get("id") if obj.get("object") == "customer" else _id_of(obj.get("customer"))
    if not customer_id:
        return
    account_id = StripeCustomer.objects.filter(stripe_id=customer_id).values_list("account_id", flat=True).first()
    _touch_accounts(organization, {customer_id: account_id})


# --- Runs -----------------------------------------------------------------------------------------------------------


def _batches(iterator: Iterable[Any], size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for obj in iterator:
        batch.append(as_dict(obj))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def stripe_full_reconcile(*, run: SyncRun, connection: Connection, client: stripe.StripeClient) -> dict[str, Any]:
    """Reads every customer, subscription (all statuses) and invoice, upserts them, refreshes the ledger of every
    account they feed, and says what it changed: what a lost webhook missed shows up as "updated" here."""
    from revenue.services import revenue_refresh

    organization = run.organization
    started = timezone.now()
    summary: dict[str, Any] = {}
    refresh = Refresh()
    repaired: list[str] = []
    # What we read is true as of the moment the pass started (reads happen after it). A row a webhook changed since
    # then holds a later time, and the guard keeps it.
    as_of: dict[str, Any] = {"remote_updated_at": started, "guard": True}

    def record(name: str, tally: Tally) -> None:
        sync_run_advance(
            run,
            processed=tally.created + tally.updated + tally.unchanged + tally.stale,
            created=tally.created,
            updated=tally.updated,
            unchanged=tally.unchanged + tally.stale,
        )
        summary.setdefault(name, Tally()).add(tally)
        repaired.extend(tally.changed_ids)

    for batch in _batches(client.v1.customers.list(params={"limit": 100}).auto_paging_iter()):
        tally, _ = customers_apply(organization=organization, customers=batch, refresh=refresh, **as_of)
        record("customers", tally)
    subscriptions = client.v1.subscriptions.list(params={"limit": 100, "status": "all"}).auto_paging_iter()
    for batch in _batches(subscriptions):
        batch = [subscription_complete(client, s) for s in batch]
        tally, _ = subscriptions_apply(organization=organization, subscriptions=batch, refresh=refresh, **as_of)
        record("subscriptions", tally)
        refresh.account_ids |= set(
            StripeSubscription.objects.filter(stripe_id__in=[s["id"] for s in batch])
            .exclude(account_id=None)
            .values_list("account_id", flat=True)
        )
    for batch in _batches(client.v1.invoices.list(params={"limit": 100}).auto_paging_iter()):
        tally, _ = invoices_apply(organization=organization, invoices=batch, **as_of)
        record("invoices", tally)
    linked = dict(StripeCustomer.objects.exclude(account_id=None).values_list("stripe_id", "account_id"))
    _touch_accounts(organization, linked)
    movements = revenue_refresh(organization=organization, account_ids=refresh.account_ids, reason="reconcile")
    summary_out = {name: tally.as_dict() for name, tally in summary.items()}
    summary_out["repaired"] = repaired[:REPAIRED_IDS_KEPT]
    summary_out["repaired_count"] = len(repaired)
    summary_out["ledger_movements"] = len(movements)
    summary_out["review_queue"] = StripeCustomer.objects.filter(account=None, deleted=False).count()
    # Everything up to the moment this pass started is now known: incremental passes go on from there.
    sync_watermark_advance(organization=organization, source=Source.STRIPE, to=started)
    return summary_out


def stripe_incremental_sync(*, run: SyncRun, connection: Connection, client: stripe.StripeClient) -> dict[str, Any]:
    """Reads the Events API from the watermark minus an overlap, oldest first, and applies each event once (an
    event a webhook already delivered is recorded and is skipped here)."""
    organization = run.organization
    now = timezone.now()
    since = connection.events_watermark - WATERMARK_OVERLAP
    events = [
        as_dict(event)
        for event in client.v1.events.list(
            params={"created": {"gte": int(since.timestamp())}, "limit": 100}
        ).auto_paging_iter()
    ]
    # Stripe lists newest first; apply oldest first. Ties within a second are resolved by refetching (see above).
    events.sort(key=lambda event: int(event.get("created") or 0))
    outcomes: dict[str, int] = {}
    newest = connection.events_watermark
    for event in events:
        recorded, _ = webhook_event_record(
            organization=organization,
            source=Source.STRIPE,
            event_id=str(event["id"]),
            event_type=str(event.get("type") or ""),
            payload=event,
            occurred_at=stripe_time(event.get("created")),
        )
        try:
            outcome = webhook_event_process(organization=organization, event_pk=recorded.pk, client=client)
        except TRANSIENT_STRIPE_ERRORS:
            raise
        except Exception as exc:  # one bad event must not stop the others; the next pass retries it
            outcome = "failed"
            sync_error_record(run, object_type="event", external_id=event["id"], message=str(exc))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        sync_run_advance(
            run,
            processed=1,
            updated=int(outcome == "applied"),
            unchanged=int(outcome in ("unchanged", "stale", "ignored", "duplicate")),
            failed=int(outcome == "failed"),
        )
        newest = max(newest, stripe_time(event.get("created")) or newest)
    if not outcomes.get("failed"):
        sync_watermark_advance(organization=organization, source=Source.STRIPE, to=min(newest, now))
    return {"read_from": since.isoformat(), "events": len(events), **outcomes}


class StripeAdapter:
    """The integrations foundation's adapter for Stripe (integrations.registry.ADAPTERS)."""

    source = Source.STRIPE

    def test_connection(self, connection: Connection) -> list[ConnectionCheck]:
        client = stripe_client_for(connection)
        checks = []
        for name, call in (
            ("Read customers", lambda: client.v1.customers.list(params={"limit": 1})),
            ("Read subscriptions", lambda: client.v1.subscriptions.list(params={"limit": 1, "status": "all"})),
            ("Read invoices", lambda: client.v1.invoices.list(params={"limit": 1})),
            ("Read events", lambda: client.v1.events.list(params={"limit": 1})),
        ):
            try:
                call()
                checks.append(ConnectionCheck(name, ok=True, detail="Allowed."))
            except stripe.AuthenticationError:
                return [ConnectionCheck("API key", ok=False, detail="Stripe refused the key: paste it again.")]
            except stripe.PermissionError:
                checks.append(ConnectionCheck(name, ok=False, detail="The restricted key needs read access here."))
            except TRANSIENT_STRIPE_ERRORS as exc:
                checks.append(ConnectionCheck(name, ok=False, detail=f"Stripe did not answer: {exc}"))
        return checks

    def sync(self, run: SyncRun, connection: Connection) -> None:
        client = stripe_client_for(connection)
        stale_watermark = connection.events_watermark is None or connection.events_watermark < (
            timezone.now() - EVENTS_RETENTION
        )
        try:
            if run.kind == SyncKind.FULL or stale_watermark:
                summary = stripe_full_reconcile(run=run, connection=connection, client=client)
                if run.kind != SyncKind.FULL:
                    summary["note"] = "No recent watermark: read everything instead of the events."
            else:
                summary = stripe_incremental_sync(run=run, connection=connection, client=client)
        except TRANSIENT_STRIPE_ERRORS as exc:
            raise TransientSyncError(str(exc)) from exc
        sync_run_finish(run, summary=summary)
