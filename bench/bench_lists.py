"""List benchmark: the account list page and /api/v1/accounts/ at 100,000 accounts.

Run with `make bench` (PostgreSQL from DATABASE_URL, default a `cs_platform_bench` database on 127.0.0.1).
The data set is generated once and reused; --regenerate rebuilds it, --quick uses 10,000 accounts.
Prints queries per page and p50/p95 in-process time for page 1 and a page 50,000 rows deep,
unfiltered and filtered, against the issue's targets (<= 5 queries, p50 < 30 ms, deep <= 1.5x page 1).
"""

import argparse
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cs_platform_bench")
os.environ["DJANGO_SETTINGS_MODULE"] = "cs_platform.settings.base"
# Production settings: template debugging off and hashed static files, as a deployment serves them.
os.environ["DEBUG"] = "false"
os.environ["SECURE_COOKIES"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
os.environ["REDIS_URL"] = ""  # sessions and cache in process memory: we time the page, not the network

TARGET_QUERIES = 5
TARGET_P50_MS = 30.0
TARGET_DEEP_RATIO = 1.5


def ensure_database(url: str) -> None:
    import dj_database_url
    import psycopg2
    from psycopg2 import sql

    config = dj_database_url.parse(url)
    if "postgresql" not in config["ENGINE"]:
        return
    admin = psycopg2.connect(
        dbname="postgres",
        user=config["USER"],
        password=config["PASSWORD"],
        host=config["HOST"],
        port=config["PORT"] or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    admin.close()


def generate(slug: str, name: str, accounts: int, contacts_per_account: int, seed: int) -> None:
    import random

    from django.db import connection

    from accounts.codenames import MINOR_PLANET_NAMES
    from accounts.demo_data import COMPANY_PREFIXES, COMPANY_SUFFIXES, FIRST_NAMES, LAST_NAMES
    from accounts.models import Account, Cohort, Contact
    from core.models import Organization, Role
    from core.services import member_add, organization_create, user_get_or_create
    from core.tenancy import tenant_scope

    Organization.objects.filter(slug=slug).delete()
    organization = organization_create(slug=slug, name=name)
    members = []
    for index, role in enumerate([Role.ADMIN, Role.CSM, Role.CSM, Role.CSM, Role.AE, Role.AE, Role.VIEWER]):
        user, _ = user_get_or_create(email=f"{role}{index}@{slug}.bench", password="bench-password")  # noqa: S106 (throwaway bench users)
        member_add(tenant=None, organization=organization, user=user, role=role)
        members.append(user)
    rng = random.Random(seed)
    cohorts = list(Cohort.values)
    started = time.perf_counter()
    with tenant_scope(organization):
        batch = []
        for index in range(accounts):
            cohort = cohorts[index % 4]
            arr = Decimal(rng.randrange(0, 400_000, 100)) if cohort != "trial" else Decimal(0)
            batch.append(
                Account(
                    organization=organization,
                    name=f"{rng.choice(COMPANY_PREFIXES)} {rng.choice(COMPANY_SUFFIXES)} {index}",
                    domain=f"customer{index}.{slug}.example",
                    cohort=cohort,
                    arr=arr,
                    mrr=(arr / 12).quantize(Decimal("0.01")),
                    csm_owner=members[1 + index % 3],
                    ae_owner=members[4 + index % 2],
                    renewal_date=None if cohort == "trial" else _day(rng),
                    codename=f"{MINOR_PLANET_NAMES[index % len(MINOR_PLANET_NAMES)]} {index}",
                    status="churned" if index % 23 == 0 else "active",
                )
            )
            if len(batch) == 5000:
                Account.objects.bulk_create(batch)
                batch = []
        Account.objects.bulk_create(batch)
        account_ids = list(Account.objects.values_list("id", flat=True))
        batch = []
        for position, account_id in enumerate(account_ids):
            for n in range(contacts_per_account):
                batch.append(
                    Contact(
                        organization=organization,
                        first_name=rng.choice(FIRST_NAMES),
                        last_name=rng.choice(LAST_NAMES),
                        email=f"person{n}.{position}@{slug}.example",
                        account_id=account_id,
                    )
                )
            if len(batch) >= 10000:
                Contact.objects.bulk_create(batch)
                batch = []
        Contact.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        # What autovacuum does on a live database within minutes: statistics and the visibility map.
        cursor.execute("VACUUM ANALYZE")
    print(
        f"  generated {slug}: {accounts:,} accounts, {accounts * contacts_per_account:,} contacts "
        f"in {time.perf_counter() - started:.0f} s"
    )


def _day(rng):
    from datetime import date, timedelta

    return date(2026, 12, 1) + timedelta(days=rng.randint(0, 500))


def dataset_ready(slug: str, accounts: int) -> bool:
    from accounts.models import Account
    from core.models import Organization
    from core.tenancy import tenant_scope

    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        return False
    with tenant_scope(organization):
        return Account.objects.count() == accounts


def cursor_at(organization, position: int, ordering: str, filters: dict) -> str:
    """The cursor a user holds after following `next` until `position` rows are behind them."""
    from accounts.filters import AccountFilterSet
    from accounts.models import Account
    from accounts.selectors import ACCOUNT_SORTS
    from core.pagination import _position_of, _segment, encode_cursor
    from core.tenancy import tenant_scope

    sort = ACCOUNT_SORTS[ordering]
    with tenant_scope(organization):
        queryset = AccountFilterSet(filters, queryset=Account.objects.all()).qs
        row = _segment(queryset, sort, 0, reverse=False)[position - 1]
        return encode_cursor("n", _position_of(row, sort))


class InProcessServer:
    """Calls the WSGI application as gunicorn would, in this process: no network, and none of the test
    client's instrumentation (it copies every template context), so the time is the application's own."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler
        from django.test.client import RequestFactory

        self.application = WSGIHandler()
        self.requests = RequestFactory()

    def get(self, url: str, headers: dict) -> int:
        environ = self.requests.get(url, **headers).environ
        status = []
        body = self.application(environ, lambda code, _headers, *_: status.append(code))
        try:
            b"".join(body)
        finally:
            body.close()
        return int(status[0].split()[0])


def measure(server: InProcessServer, url: str, runs: int, headers: dict) -> tuple[int, list[float]]:
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    # Django empties the query log when a request starts; the benchmark wants to keep what it captures.
    request_started.disconnect(reset_queries)
    for _ in range(3):
        status = server.get(url, headers)
        assert status == 200, (url, status)
    with CaptureQueriesContext(connection) as queries:
        server.get(url, headers)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        server.get(url, headers)
        timings.append((time.perf_counter() - started) * 1000)
    return len(queries), timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--quick", action="store_true", help="10,000 accounts instead of 100,000")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from core.models import Membership, Organization, Role
    from core.services import api_key_create
    from core.tenancy import tenant_scope

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    accounts = 10_000 if args.quick else 100_000
    deep = 5_000 if args.quick else 50_000
    slug = "bench-quick" if args.quick else "bench"
    database = settings.DATABASES["default"]
    print(f"Database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}")
    if args.regenerate or not dataset_ready(slug, accounts):
        generate(slug, "Benchmark Co", accounts, 3, seed=1)
        generate(f"{slug}-noise", "Noise Inc", accounts // 2, 3, seed=2)
    organization = Organization.objects.get(slug=slug)
    with tenant_scope(organization):
        member = Membership.objects.select_related("user").filter(role=Role.CSM).first()
        from accounts.models import Account, Contact

        print(
            f"Rows: {Account.objects.count():,} accounts and {Contact.objects.count():,} contacts in '{slug}', "
            f"plus a noise organization"
        )
    _, raw_key = api_key_create(tenant=None, organization=organization, role=Role.VIEWER, name="bench")

    signed_in = Client()
    signed_in.force_login(member.user)
    session_cookie = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    server = InProcessServer()
    page_headers = {"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session_cookie}"}
    api_headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}

    # (label, filters, ordering, how deep the deep page is): status=active keeps ~96% of the rows, so its
    # deep page really is 50,000 rows in; a cohort holds a quarter of the rows, so its deep page is a quarter as deep.
    cases = [
        ("unfiltered", {}, "name", deep),
        ("filtered status=active", {"status": "active"}, "name", deep),
        ("filtered cohort=premium", {"cohort": "premium"}, "name", deep // 4),
        ("sorted -arr", {}, "-arr", deep),
    ]
    rows = []
    for label, filters, ordering, depth in cases:
        deep_cursor = cursor_at(organization, depth, ordering, filters)
        query = "&".join(f"{k}={v}" for k, v in {**filters, "ordering": ordering}.items())
        for surface, base, headers in (
            ("page", f"/o/{slug}/accounts/", page_headers),
            ("api", "/api/v1/accounts/", api_headers),
        ):
            first_queries, first = measure(server, f"{base}?{query}", args.runs, headers)
            deep_queries, deep_times = measure(server, f"{base}?{query}&cursor={deep_cursor}", args.runs, headers)
            rows.append((surface, label, first_queries, first, deep_queries, deep_times))

    print()
    header = f"{'surface':<6} {'case':<24} {'page':<5} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8}  verdict"
    print(header)
    print("-" * len(header))
    failures = 0
    for surface, label, first_queries, first, deep_queries, deep_times in rows:
        first_p50 = statistics.median(first)
        for page, queries, timings in (("1", first_queries, first), ("deep", deep_queries, deep_times)):
            p50 = statistics.median(timings)
            problems = []
            if queries > TARGET_QUERIES:
                problems.append(f"queries > {TARGET_QUERIES}")
            if p50 >= TARGET_P50_MS:
                problems.append(f"p50 >= {TARGET_P50_MS:.0f} ms")
            if page == "deep" and p50 > TARGET_DEEP_RATIO * first_p50:
                problems.append(f"deep {p50 / first_p50:.2f}x page 1")
            failures += bool(problems)
            verdict = "PASS" if not problems else "FAIL: " + ", ".join(problems)
            p95 = percentile(timings, 0.95)
            print(f"{surface:<6} {label:<24} {page:<5} {queries:>7} {p50:>8.1f} {p95:>8.1f}  {verdict}")
    print()
    print(
        f"Deep page: {deep:,} rows in ({deep // 4:,} for cohort=premium, a quarter of the rows), at the cursor "
        "a user holds after following `next` that far."
    )
    print(
        f"Targets: <= {TARGET_QUERIES} queries, p50 < {TARGET_P50_MS:.0f} ms, deep p50 <= {TARGET_DEEP_RATIO}x page 1. "
        f"{len(rows) * 2 - failures} passed, {failures} failed."
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
