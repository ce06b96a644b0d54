"""HubSpot benchmark: a full sync of 20,000 contacts and 5,000 companies against the fake HubSpot on 127.0.0.1,
which enforces HubSpot's limit of 100 requests per rolling 10 seconds (tests/fakes/hubspot_fake.py).

The ceiling that limit allows is 100 requests / 10 s x 100 records a batch = 1,000 records a second (the first
window's burst can do better, so short runs may read above 100%). Prints records per second, requests made,
429s received and the ratio to that ceiling; fails unless the ratio is at least 90% and every record is in the
database (PostgreSQL from DATABASE_URL, default the `cs_platform_bench` database on 127.0.0.1).

    .venv/bin/python bench/bench_hubspot.py [--contacts 20000] [--companies 5000] [--limit 100]
"""

import argparse
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cs_platform_bench")
os.environ["DJANGO_SETTINGS_MODULE"] = "cs_platform.settings.base"
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["REDIS_URL"] = ""
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

SLUG = "hubspot-bench"
TARGET_RATIO = 0.90
STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
ACTIONS = ("created-instance", "added-device", "invited-member", "used-snapshots", "deployed-pipeline")
USAGE = ("Home automation", "Industrial IoT", "Prototyping", "Data integration")


def ensure_database(url: str) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_lists import ensure_database as create_if_missing

    create_if_missing(url)


def seed_fake(fake, *, companies: int, contacts: int) -> None:
    """The portal: companies, then contacts each associated with one company, all modified an hour ago."""
    modified = datetime.now(UTC) - timedelta(hours=1)
    company_ids = fake.bulk_create(
        "companies",
        ({"name": f"Bench Company {n:05d}", "domain": f"bench{n:05d}.example"} for n in range(companies)),
        modified_at=modified,
    )
    for n in range(contacts):
        record = fake.create(
            "contacts",
            {
                "email": f"person{n:05d}@bench{n % companies:05d}.example",
                "firstname": f"First{n}",
                "lastname": f"Last{n}",
                "jobtitle": "Engineer",
                "lifecyclestage": STAGES[n % len(STAGES)],
                "hs_lead_status": "OPEN" if n % 3 == 0 else "",
                "ffc_tier": "Starter",
                "ffc_actions": ";".join(ACTIONS[: n % len(ACTIONS) + 1]),
                "ffc_usage": USAGE[n % len(USAGE)],
            },
            modified_at=modified,
        )
        fake.associate("contacts", record.id, "companies", company_ids[n % companies])


def serve_fake(ready, *, companies: int, contacts: int, limit: int, token: str) -> None:
    """The fake HubSpot in its own process, as HubSpot is: its work does not compete with the sync's for the GIL."""
    from tests.fakes.hubspot_fake import HubSpotFake
    from tests.fakes.loopback import loopback_server

    with loopback_server() as server:
        fake = HubSpotFake(server, token=token, rate_limit=limit, interval_ms=10_000).install()
        fake.keep_request_bodies = False
        started = time.perf_counter()
        seed_fake(fake, companies=companies, contacts=contacts)
        ready.put((fake.base_url, time.perf_counter() - started))
        threading.Event().wait()


def fake_stats(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/__fake__/stats", timeout=10) as response:  # noqa: S310 - our fake
        return json.loads(response.read())


def remove_previous_runs(organization_model) -> None:
    """Deletes the benchmark organizations of earlier runs, table by table.

    The ORM's cascade would visit every app's models, and in a tree where another app's model has no table yet it
    stops; the benchmark's rows live in a few tenant tables, removed here with the foreign keys checked at commit.
    """
    from django.apps import apps
    from django.db import connection, transaction

    ids = list(organization_model.objects.filter(slug__startswith=SLUG).values_list("pk", flat=True))
    if not ids:
        return
    tables = set(connection.introspection.table_names())
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for model in apps.get_models():
            fields = {field.name: field for field in model._meta.fields}
            field = fields.get("organization")
            if model._meta.db_table in tables and field is not None and field.related_model is organization_model:
                cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE organization_id = ANY(%s)', [ids])  # noqa: S608
        cursor.execute(f'DELETE FROM "{organization_model._meta.db_table}" WHERE id = ANY(%s)', [ids])  # noqa: S608


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--companies", type=int, default=5_000)
    parser.add_argument("--limit", type=int, default=100, help="requests per 10 seconds the fake allows")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import DatabaseError
    from django.db import connection as db

    from accounts.models import Account, Contact
    from core.models import Organization, Role
    from core.tenancy import Tenant, tenant_scope
    from integrations import services as integration_services
    from integrations.models import ExternalRecord, Source, SyncKind, SyncRun
    from integrations.services import connection_update

    call_command("migrate", verbosity=0)
    print(f"Database: {db.vendor} {db.settings_dict['NAME']}")
    slug = SLUG
    try:
        remove_previous_runs(Organization)
    except DatabaseError as exc:
        slug = f"{SLUG}-{int(time.time())}"
        print(f"(could not remove the last run's organization: {str(exc).splitlines()[0]}; using {slug})")
    organization = Organization.objects.create(slug=slug, name="HubSpot benchmark")

    token = "pat-bench-token"  # noqa: S105 - the fake's
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    fake_process = context.Process(
        target=serve_fake,
        args=(ready,),
        kwargs={"companies": args.companies, "contacts": args.contacts, "limit": args.limit, "token": token},
        daemon=True,
    )
    fake_process.start()
    base_url, seeded_in = ready.get(timeout=300)
    print(f"Fake HubSpot at {base_url} (its own process): {args.companies:,} companies, {args.contacts:,} contacts "
          f"(seeded in {seeded_in:.1f} s), limit {args.limit} requests / 10 s")  # fmt: skip

    with tenant_scope(organization):
        connection = connection_update(
            tenant=Tenant(organization=organization, role=Role.ADMIN),
            source=Source.HUBSPOT,
            api_key=token,
            webhook_secret="bench-secret",  # noqa: S106
            api_base_url=base_url,
            enabled=True,
        )
        run = SyncRun.objects.create(organization=organization, source=Source.HUBSPOT, kind=SyncKind.FULL)
        started = time.perf_counter()
        run = integration_services.sync_execute(organization=organization, run=run)
        elapsed = time.perf_counter() - started
        accounts = Account.objects.count()
        contacts = Contact.objects.count()
        linked = Contact.objects.filter(account__isnull=False).count()
        links = ExternalRecord.objects.filter(source=Source.HUBSPOT).count()
    stats = fake_stats(base_url)
    fake_process.terminate()
    del connection

    records = args.companies + args.contacts
    ceiling = args.limit / 10 * 100  # records a second the limit allows at 100 records a request
    rate = records / elapsed
    ratio = rate / ceiling
    print(f"Run #{run.pk}: {run.status}; created {run.created:,}, updated {run.updated:,}, unchanged "
          f"{run.unchanged:,}, failed {run.failed:,}{'; ' + run.error if run.error else ''}")  # fmt: skip
    print(f"Full sync of {records:,} records in {elapsed:.1f} s: {rate:,.0f} records/s")
    print(f"Requests made: {stats['requests']} (the client counted {run.summary.get('requests')}), "
          f"429s received: {stats['rate_limited']}, paced waits: {run.summary.get('waited_seconds')} s")  # fmt: skip
    print(f"Writer: {run.summary.get('writing_seconds')} s writing, {run.summary.get('waiting_for_hubspot_seconds')} s "
          "waiting for the next page")  # fmt: skip
    print("Requests by endpoint: " + ", ".join(f"{name} {n}" for name, n in sorted(stats["by_endpoint"].items())))
    print(f"Ceiling at {args.limit} requests / 10 s x 100 records: {ceiling:,.0f} records/s; "
          f"ratio {ratio:.0%} (target >= {TARGET_RATIO:.0%})")  # fmt: skip
    print(f"In the database: {accounts:,} accounts, {contacts:,} contacts ({linked:,} with their account), "
          f"{links:,} HubSpot links")  # fmt: skip
    ok = True
    if accounts != args.companies or contacts != args.contacts or linked != args.contacts:
        print("FAIL: records are missing")
        ok = False
    if run.failed or run.status != "succeeded":
        print("FAIL: the run did not succeed cleanly")
        ok = False
    if ratio < TARGET_RATIO:
        print("FAIL: below the target ratio")
        ok = False
    print("OK" if ok else "NOT OK")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
