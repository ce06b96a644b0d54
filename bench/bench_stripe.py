"""Stripe import benchmark: 10,000 subscriptions written to PostgreSQL through the sync's own apply functions.

What it measures: revenue.sync.customers_apply / subscriptions_apply / invoices_apply fed, in pages of 100 as the
SDK's auto-paging would hand them over, with the plain dicts the SDK objects become (`StripeObject.to_dict()`),
built here in today's API shapes (prices on items, item-level periods, invoice `parent`). No HTTP is involved:
the figure is our side of an import (bulk upserts, linking, change detection), not Stripe's latency. Then the
ledger pass (revenue.services.revenue_refresh) over every account, and a second import of the same objects (a
reconcile that finds nothing changed).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_platform_bench .venv/bin/python bench/bench_stripe.py
(--subscriptions N to change the size).
"""

import argparse
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cs_platform_bench")
os.environ["DJANGO_SETTINGS_MODULE"] = "cs_platform.settings.base"
os.environ["DEBUG"] = "false"
os.environ["SECURE_COOKIES"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["REDIS_URL"] = ""

from bench_lists import ensure_database  # noqa: E402 (the path and environment above come first)

PAGE = 100
SLUG = "bench-stripe"


def stripe_objects(count: int, seed: int = 7) -> tuple[list[dict], list[dict], list[dict]]:
    """Customers, subscriptions and invoices as the SDK's to_dict() returns them (API 2026-10-28)."""
    rng = random.Random(seed)
    now = int(time.time())
    prices = [
        {
            "id": f"price_bench{index:02d}",
            "object": "price",
            "currency": "usd",
            "unit_amount": rng.choice([900, 2900, 4900, 9900, 49900]),
            "product": f"prod_bench{index % 5}",
            "active": True,
            "nickname": None,
            "recurring": {"interval": interval, "interval_count": 1},
        }
        for index, interval in enumerate(["month"] * 15 + ["year"] * 5)
    ]
    customers, subscriptions, invoices = [], [], []
    for index in range(count):
        customer_id = f"cus_bench{index:06d}"
        # 80% found by the account's stored id, 10% by email domain, 10% for the review queue.
        domain = f"bench{index}.example" if index % 10 != 9 else f"unknown{index}.example"
        customers.append(
            {
                "id": customer_id,
                "object": "customer",
                "email": f"billing@{domain}",
                "name": f"Bench customer {index}",
                "metadata": {},
                "currency": "usd",
                "created": now - rng.randint(86400, 86400 * 700),
            }
        )
        start = now - rng.randint(86400, 86400 * 365)
        subscription_id = f"sub_bench{index:06d}"
        items = []
        for line in range(rng.choice([1, 1, 1, 2])):
            price = prices[rng.randrange(15)] if line else rng.choice(prices)
            items.append(
                {
                    "id": f"si_bench{index:06d}{line}",
                    "object": "subscription_item",
                    "price": price,
                    "quantity": rng.randint(1, 20),
                    "current_period_start": start,
                    "current_period_end": start + 30 * 86400,
                    "subscription": subscription_id,
                }
            )
        if items[0]["price"]["recurring"]["interval"] == "year":
            items = items[:1]  # Stripe bills a subscription's items on one interval
        status = rng.choices(["active", "past_due", "trialing", "canceled"], [80, 5, 10, 5])[0]
        subscriptions.append(
            {
                "id": subscription_id,
                "object": "subscription",
                "customer": customer_id,
                "status": status,
                "currency": "usd",
                "cancel_at_period_end": False,
                "cancel_at": None,
                "canceled_at": now - 3600 if status == "canceled" else None,
                "ended_at": now - 3600 if status == "canceled" else None,
                "trial_end": None,
                "start_date": start,
                "discounts": [],
                "latest_invoice": f"in_bench{index:06d}",
                "items": {"object": "list", "data": items, "has_more": False},
            }
        )
        amount = sum(item["price"]["unit_amount"] * item["quantity"] for item in items)
        invoices.append(
            {
                "id": f"in_bench{index:06d}",
                "object": "invoice",
                "customer": customer_id,
                "number": f"BENCH-{index:06d}",
                "status": rng.choices(["paid", "open"], [95, 5])[0],
                "collection_method": "charge_automatically",
                "currency": "usd",
                "amount_due": amount,
                "amount_paid": amount,
                "amount_remaining": 0,
                "total": amount,
                "hosted_invoice_url": f"https://invoice.stripe.com/i/bench{index}",
                "created": start,
                "parent": {"type": "subscription_details", "subscription_details": {"subscription": subscription_id}},
                "status_transitions": {"paid_at": start},
            }
        )
    return customers, subscriptions, invoices


def pages(objects: list[dict]):
    for start in range(0, len(objects), PAGE):
        yield objects[start : start + PAGE]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import DatabaseError, connection, transaction

    from accounts.models import Account
    from core.models import Organization
    from core.services import organization_create
    from core.tenancy import tenant_scope
    from revenue.models import (
        RevenueMovement,
        StripeCustomer,
        StripeInvoice,
        StripePrice,
        StripeSubscription,
        StripeSubscriptionItem,
    )
    from revenue.services import revenue_refresh
    from revenue.sync import Refresh, customers_apply, invoices_apply, subscriptions_apply

    call_command("migrate", verbosity=0)
    database = settings.DATABASES["default"]
    print(f"Database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']} ({connection.vendor})")
    count = args.subscriptions
    slug = SLUG
    try:
        Organization.objects.filter(slug=slug).delete()
    except DatabaseError as exc:  # another app's table not migrated yet in this shared database: use a fresh slug
        slug = f"{SLUG}-{int(time.time())}"
        print(f"(could not delete the previous run: {str(exc).splitlines()[0]}; using {slug})")
    organization = organization_create(slug=slug, name="Stripe Bench Co")
    customers, subscriptions, invoices = stripe_objects(count)
    with tenant_scope(organization):
        Account.objects.bulk_create(
            [
                Account(
                    organization=organization,
                    name=f"Bench account {index}",
                    domain=f"bench{index}.example",
                    codename=f"Bench {index}",
                    stripe_customer_id=f"cus_bench{index:06d}" if index % 10 < 8 else "",
                    mrr=Decimal(0),
                    arr=Decimal(0),
                )
                for index in range(count)
            ],
            batch_size=2000,
        )
        print(f"{count:,} accounts, {count:,} customers, {count:,} subscriptions, {count:,} invoices")

        def import_all() -> tuple[float, Refresh]:
            refresh = Refresh()
            started = time.perf_counter()
            for page in pages(customers):
                with transaction.atomic():
                    customers_apply(organization=organization, customers=page, refresh=refresh)
            for page in pages(subscriptions):
                with transaction.atomic():
                    subscriptions_apply(organization=organization, subscriptions=page, refresh=refresh)
            for page in pages(invoices):
                with transaction.atomic():
                    invoices_apply(organization=organization, invoices=page)
            return time.perf_counter() - started, refresh

        elapsed, refresh = import_all()
        rows = {
            "customers": StripeCustomer.objects.count(),
            "subscriptions": StripeSubscription.objects.count(),
            "subscription items": StripeSubscriptionItem.objects.count(),
            "prices": StripePrice.objects.count(),
            "invoices": StripeInvoice.objects.count(),
        }
        written = sum(rows.values())
        print("First import (every row new):")
        print("  " + ", ".join(f"{value:,} {name}" for name, value in rows.items()))
        linked = StripeCustomer.objects.exclude(account=None).count()
        print(f"  {linked:,} customers linked to accounts, {rows['customers'] - linked:,} in the review queue")
        print(f"  {written:,} rows in {elapsed:.2f} s = {written / elapsed:,.0f} rows written per second")
        print(f"  = {count / elapsed:,.0f} subscriptions (with customer, items and invoice) per second")

        started = time.perf_counter()
        movements = revenue_refresh(organization=organization, account_ids=refresh.account_ids, reason="bench")
        ledger_elapsed = time.perf_counter() - started
        print(
            f"Ledger pass over {len(refresh.account_ids):,} accounts: {len(movements):,} movements and account "
            f"updates (through accounts.services, audited) in {ledger_elapsed:.2f} s "
            f"= {len(refresh.account_ids) / ledger_elapsed:,.0f} accounts per second"
        )

        elapsed_again, refresh_again = import_all()
        print(
            f"Second import (nothing changed): {count * 3:,} objects compared in {elapsed_again:.2f} s "
            f"= {count * 3 / elapsed_again:,.0f} objects per second; "
            f"accounts to refresh: {len(refresh_again.account_ids)}"
        )
        started = time.perf_counter()
        again = revenue_refresh(organization=organization, account_ids=refresh.account_ids, reason="bench")
        print(
            f"Ledger pass again: {len(again)} new movements (idempotent) in {time.perf_counter() - started:.2f} s; "
            f"ledger holds {RevenueMovement.objects.count():,} movements"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
