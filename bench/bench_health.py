"""Health benchmark: recompute every account's health score at 10,000 and 100,000 accounts, 90 days of usage each.

What it measures: health.services.health_compute for one organization, as the nightly task runs it: the grouped
reads of every source (9,000,000 daily usage rows at the large size), the pure-Python scoring, and the writes (a
day's HealthScore row and the AccountHealth row per account, signals). The data set holds usage and adoption only:
the ticket, note, meeting and billing reads run but find nothing. It runs twice per size: the first compute of the
day inserts the day's scores and signals (each account's current row is updated), the rerun updates the same rows.
Prints seconds and queries; the target is under 30 seconds at 100,000 accounts, with the same number of queries at
both sizes.

The data set is generated once with `INSERT … SELECT generate_series` and reused; --regenerate rebuilds it.
Run: make bench-health (PostgreSQL from DATABASE_URL, default a `cs_platform_bench` database on 127.0.0.1).
"""

import argparse
import os
import sys
import time
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

TARGET_SECONDS = 30.0
DAYS = 90
SIZES = {"bench-health-10k": 10_000, "bench-health": 100_000}


def generate(slug: str, accounts: int) -> None:
    from django.db import connection

    from core.models import Organization
    from core.services import organization_create

    Organization.objects.filter(slug=slug).delete()
    organization = organization_create(slug=slug, name=f"Health bench {accounts:,}")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_account (organization_id, name, domain, cohort, currency, arr, mrr, codename,
                qbr_nominated, qbr_nomination_reason, status, stripe_customer_id, hubspot_company_id, created_at,
                updated_at)
            SELECT %s, 'Customer ' || n, 'customer' || n || '.example',
                (ARRAY['trial', 'starter', 'premium', 'enterprise'])[1 + n %% 4], 'USD', 12000, 1000, 'Vesta ' || n,
                false, '', CASE WHEN n %% 23 = 0 THEN 'churned' ELSE 'active' END, '', '', now(), now()
            FROM generate_series(1, %s) AS n
            """,
            [organization.pk, accounts],
        )
        # 90 days per account: a size from the id, and a story (growing, steady, or declining from day 60).
        cursor.execute(
            """
            INSERT INTO usage_dailyusage (organization_id, account_id, day, users, instances, devices, applications,
                reported_at)
            SELECT a.organization_id, a.id, current_date - d,
                GREATEST(1, (3 + a.id %% 17) * CASE a.id %% 5 WHEN 0 THEN (CASE WHEN d < 14 THEN 0.5 ELSE 1 END)
                    WHEN 1 THEN 1 + (%s - d) * 0.01 ELSE 1 END)::int,
                1 + a.id %% 4 + CASE WHEN a.id %% 7 = 0 AND d < 7 THEN 2 ELSE 0 END,
                a.id %% 11, 1 + a.id %% 3, now()
            FROM accounts_account a CROSS JOIN generate_series(0, %s - 1) AS d
            WHERE a.organization_id = %s
            """,
            [DAYS, DAYS, organization.pk],
        )
        cursor.execute(
            """
            INSERT INTO usage_featureadoption (organization_id, account_id, feature, first_used_at, last_used_at,
                event_count, updated_at)
            SELECT a.organization_id, a.id, f, now() - interval '120 days', now() - (a.id %% 100) * interval '1 day',
                3, now()
            FROM accounts_account a
            CROSS JOIN unnest(ARRAY['instance_created', 'device_added', 'snapshot_created', 'pipeline_used']) AS f
            WHERE a.organization_id = %s AND (a.id + length(f)) %% 3 <> 0
            """,
            [organization.pk],
        )
        cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    print(f"  generated {slug}: {accounts:,} accounts, {accounts * DAYS:,} usage rows in {seconds:.0f} s")


def dataset_ready(slug: str, accounts: int) -> bool:
    from accounts.models import Account
    from core.models import Organization
    from core.tenancy import tenant_scope
    from usage.models import DailyUsage

    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        return False
    with tenant_scope(organization):
        fresh = DailyUsage.objects.order_by("-day").values_list("day", flat=True).first()
        from django.utils import timezone

        return Account.objects.count() == accounts and fresh == timezone.localdate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--quick", action="store_true", help="only the 10,000-account size")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.events import events_muted
    from core.models import Organization
    from core.tenancy import tenant_scope
    from health.models import HealthScore, HealthSignal
    from health.services import health_compute, health_models_ensure

    call_command("migrate", verbosity=0)
    database = settings.DATABASES["default"]
    print(f"Database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}")
    sizes = {slug: n for slug, n in SIZES.items() if not args.quick or n == 10_000}
    for slug, accounts in sizes.items():
        if args.regenerate or not dataset_ready(slug, accounts):
            generate(slug, accounts)

    results = []
    for slug, accounts in sizes.items():
        organization = Organization.objects.get(slug=slug)
        with tenant_scope(organization):
            # The first compute of a day inserts (scores and the signals it raises); the rerun updates.
            HealthScore.objects.all().delete()
            HealthSignal.objects.all().delete()
            health_models_ensure(organization=organization)  # once per organization, not part of a nightly run
            with connection.cursor() as cursor:  # what autovacuum does between two nights
                cursor.execute("VACUUM ANALYZE health_healthscore, health_accounthealth")
            for run in ("first", "rerun"):
                # Muted: the bench times the compute, not the playbooks or Celery that the crossings would reach.
                with events_muted(), CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    result = health_compute(organization=organization)
                    seconds = time.perf_counter() - started
                results.append((accounts, run, result.scored, seconds, len(queries)))

    print()
    header = f"{'accounts':>9} {'run':<6} {'scored':>8} {'seconds':>8} {'queries':>8}  verdict"
    print(header)
    print("-" * len(header))
    failures = 0
    for accounts, run, scored, seconds, queries in results:
        problems = []
        if accounts == 100_000 and seconds >= TARGET_SECONDS:
            problems.append(f">= {TARGET_SECONDS:.0f} s")
        if len({q for _, r, _, _, q in results if r == run}) > 1:
            problems.append(f"{run} run's query count differs between sizes")
        failures += bool(problems)
        verdict = "PASS" if not problems else "FAIL: " + ", ".join(problems)
        print(f"{accounts:>9,} {run:<6} {scored:>8,} {seconds:>8.1f} {queries:>8}  {verdict}")
    print()
    print(f"Target: under {TARGET_SECONDS:.0f} s at 100,000 accounts ({DAYS} days of usage each), queries constant.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
