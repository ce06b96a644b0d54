"""Inbox benchmark: the inbox page and /api/v1/tickets/ at 1,000,000 tickets (200,000 open).

Run with `make bench-inbox` (or `make bench`, which runs this after bench_lists.py), PostgreSQL from DATABASE_URL,
default the `cs_platform_bench` database on 127.0.0.1. The data set is generated once, in SQL (INSERT ... SELECT
over generate_series), and reused; --regenerate rebuilds it, --quick uses 100,000 tickets.
Prints queries per page and p50/p95 in-process time for the "all open" view sorted by SLA due time and by last
update, page 1 and a page 100,000 rows deep, against the issue's targets: at most 3 queries per API page
(authentication included), a constant number per HTML page whatever its size, p50 under 10 ms (API) and
40 ms (HTML), deep pages within 1.5x of page 1. --explain prints EXPLAIN ANALYZE of every query of each page.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Importing bench_lists sets the environment both benchmarks share (database, production-like settings).
from bench.bench_lists import InProcessServer, ensure_database, measure, percentile

TARGET_API_QUERIES = 3
TARGET_API_P50_MS = 10.0
TARGET_PAGE_P50_MS = 40.0
TARGET_DEEP_RATIO = 1.5

OPEN_MIX = ["new", "new", "new", "open", "open", "open", "open", "pending_customer", "pending_customer", "on_hold"]
TAG_NAMES = [f"tag-{n:02d}" for n in range(30)]
WORDS = ["flow", "deploy", "login", "billing", "dashboard", "node", "webhook", "export", "invite", "instance"]


def insert_select(cursor, model, columns: dict[str, str], source: str, params: dict) -> int:
    """INSERT INTO model's table (columns) SELECT expressions FROM source; every other NOT NULL column gets the
    model field's default as a parameter, so a field added later does not break the generator."""
    from django.db import connection

    params = dict(params)
    names, expressions = list(columns), list(columns.values())
    for field in model._meta.concrete_fields:
        if field.primary_key or field.null or field.column in columns:
            continue
        default = field.get_default()  # the model default, or "" for a text field
        if default is None:
            raise RuntimeError(f"{model.__name__}.{field.name} is NOT NULL without a default: give it a value")
        names.append(field.column)
        expressions.append(f"%(default_{field.column})s")
        params[f"default_{field.column}"] = field.get_db_prep_save(default, connection)
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) SELECT {', '.join(expressions)} FROM {source}",  # noqa: S608 (our own SQL)
        params,
    )
    return cursor.rowcount


def delete_organization(slug: str) -> None:
    """Drops an organization; its big tables first in SQL, since the ORM would load a million rows to delete them."""
    from django.db import connection, transaction

    from core.models import Organization
    from core.tenancy import platform_scope

    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in (
            "DELETE FROM tickets_ticket_tags USING tickets_ticket t WHERE ticket_id = t.id AND t.organization_id = %s",
            "DELETE FROM tickets_message WHERE organization_id = %s",
            "DELETE FROM tickets_ticket WHERE organization_id = %s",
            "DELETE FROM accounts_contact WHERE organization_id = %s",
            "DELETE FROM accounts_account WHERE organization_id = %s",
        ):
            cursor.execute(sql, [organization.pk])
        with platform_scope():
            organization.delete()


def generate(slug: str, name: str, tickets: int, contacts: int, accounts: int, seed: float) -> float:
    """One organization: members, accounts, contacts, SLA policies, tags, tickets (a fifth open) and messages."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Account, Cohort, Contact
    from core.models import Role
    from core.services import member_add, organization_create, user_get_or_create
    from core.tenancy import tenant_scope
    from tickets.models import Channel, Message, Priority, SlaPolicy, SupportSettings, Tag, Ticket, Topic

    started = time.perf_counter()
    delete_organization(slug)
    with transaction.atomic():
        organization = organization_create(slug=slug, name=name)
        agents = []
        roles = [Role.ADMIN] + [Role.CSM] * 10 + [Role.AE, Role.VIEWER]
        for index, role in enumerate(roles):
            user, _ = user_get_or_create(email=f"{role}{index}@{slug}.bench")  # no password: the bench logs in directly
            member_add(tenant=None, organization=organization, user=user, role=role)
            if role in (Role.ADMIN, Role.CSM):
                agents.append(user.pk)
        with tenant_scope(organization):
            policies = SlaPolicy.objects.bulk_create(
                SlaPolicy(organization=organization, name=f"{priority.label} policy", position=n, priority=priority,
                          first_response_minutes=60 * (n + 1), next_response_minutes=240, resolution_minutes=2880)
                for n, priority in enumerate(Priority)
            )  # fmt: skip
            tags = Tag.objects.bulk_create(Tag(organization=organization, name=tag) for tag in TAG_NAMES)
            SupportSettings.objects.update_or_create(
                organization=organization, defaults={"last_ticket_number": tickets}
            )
        params = {
            "org": organization.pk,
            "slug": slug,
            "now": timezone.now(),
            "agents": agents,
            "cohorts": list(Cohort.values),
            "channels": list(Channel.values),
            "topics": list(Topic.values),
            "priorities": list(Priority.values),
            "policies": [policy.pk for policy in policies],
            "tags": [tag.pk for tag in tags],
            "open_mix": OPEN_MIX,
            "words": WORDS,
            "accounts": accounts,
            "contacts": contacts,
            "tickets": tickets,
        }
        with connection.cursor() as cursor:
            # The rows are consistent by construction: skip the per-row foreign-key triggers for this transaction.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SELECT setseed(%s)", [seed])
            insert_select(cursor, Account, {
                "organization_id": "%(org)s",
                "name": "'Customer ' || g",
                "domain": "'customer' || g || '.' || %(slug)s || '.example'",
                "cohort": "(%(cohorts)s::text[])[1 + mod(g, 4)]",
                "arr": "(floor(random() * 4000) * 100)::numeric",
                "mrr": "0",
                "csm_owner_id": "(%(agents)s::int[])[1 + mod(g, cardinality(%(agents)s::int[]))]",
                "codename": "'Planet ' || g",
                "status": "CASE WHEN mod(g, 23) = 0 THEN 'churned' ELSE 'active' END",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
            }, "generate_series(1, %(accounts)s) g", params)  # fmt: skip
            insert_select(cursor, Contact, {
                "organization_id": "%(org)s",
                "first_name": "'First' || g",
                "last_name": "'Last' || mod(g, 977)",
                "email": "'person' || g || '@' || %(slug)s || '.example'",
                "account_id": "a.id",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
            }, "generate_series(1, %(contacts)s) g JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn "
               "FROM accounts_account WHERE organization_id = %(org)s) a ON a.rn = 1 + mod(g, %(accounts)s)",
               params)  # fmt: skip
            cursor.execute(
                "CREATE TEMP TABLE bench_requester ON COMMIT DROP AS SELECT id, account_id, "
                "row_number() OVER (ORDER BY id) AS rn FROM accounts_contact WHERE organization_id = %(org)s",
                params,
            )
            cursor.execute("CREATE UNIQUE INDEX ON bench_requester (rn)")
            # A fifth of the tickets is open (new/open/pending_customer/on_hold), the rest closed. Open tickets are due
            # within the next 30 days, except pending_customer (clock paused) and a quarter of the others (no policy).
            insert_select(cursor, Ticket, {
                "organization_id": "%(org)s",
                "number": "t.g",
                "subject": "'Problem with ' || (%(words)s::text[])[1 + mod(t.g, 10)] || ' number ' || t.g",
                "requester_id": "r.id",
                "account_id": "r.account_id",
                "channel": "(%(channels)s::text[])[1 + mod(t.g / 7, cardinality(%(channels)s::text[]))]",
                "topic": "(%(topics)s::text[])[1 + mod(t.g / 3, cardinality(%(topics)s::text[]))]",
                "priority": "(%(priorities)s::text[])[1 + mod(t.g / 11, 4)]",
                "status": "t.status",
                "owner_id": "CASE WHEN t.status = 'new' AND mod(t.g, 3) = 0 THEN NULL "
                            "ELSE (%(agents)s::int[])[1 + mod(t.g / 13, cardinality(%(agents)s::int[]))] END",
                "sla_policy_id": "(%(policies)s::int[])[1 + mod(t.g / 11, 4)]",
                "sla_due_at": "CASE WHEN t.status IN ('new', 'open', 'on_hold') AND mod(t.g, 20) <> 0 "
                              "THEN %(now)s + random() * interval '30 days' END",
                "first_response_at": "CASE WHEN t.status <> 'new' THEN t.created_at + interval '2 hours' END",
                "last_customer_message_at": "t.created_at",
                "last_agent_message_at": "CASE WHEN t.status <> 'new' THEN t.created_at + interval '2 hours' END",
                "closed_at": "CASE WHEN t.status = 'closed' THEN t.updated_at END",
                "created_at": "t.created_at",
                "updated_at": "t.updated_at",
            }, "(SELECT g, s.status, s.updated_at, s.updated_at - random() * interval '10 days' AS created_at FROM "
               "generate_series(1, %(tickets)s) g, LATERAL (SELECT CASE WHEN mod(g, 5) = 0 "
               "THEN (%(open_mix)s::text[])[1 + mod(g / 5, 10)] ELSE 'closed' END AS status, "
               "%(now)s - random() * CASE WHEN mod(g, 5) = 0 THEN interval '30 days' ELSE interval '365 days' END "
               "AS updated_at) s) t JOIN bench_requester r ON r.rn = 1 + mod(t.g * 7, %(contacts)s)",
               params)  # fmt: skip
            # A million messages for a million tickets: two on each open ticket, one on three closed tickets in four.
            insert_select(cursor, Message, {
                "organization_id": "%(org)s",
                "ticket_id": "t.id",
                "kind": "CASE WHEN k = 1 THEN 'customer' ELSE 'reply' END",
                "author_id": "CASE WHEN k > 1 THEN t.owner_id END",
                "author_contact_id": "CASE WHEN k = 1 THEN t.requester_id END",
                "channel": "t.channel",
                "body_text": "'Hello, since this morning the ' || (%(words)s::text[])[1 + mod(t.number, 10)] || "
                             "' of ticket ' || t.number || ' fails for the whole team. Steps: open it, save it, "
                             "wait a minute. Could you have a look? Thanks.'",
                "body_html": "'<p>Hello, since this morning the ' || (%(words)s::text[])[1 + mod(t.number, 10)] || "
                             "' of ticket ' || t.number || ' fails for the whole team.</p><p>Thanks.</p>'",
                "message_id": "'m' || t.number || '.' || k || '@' || %(slug)s || '.example'",
                "in_reply_to": "''",
                "delivery": "CASE WHEN k = 1 THEN '' ELSE 'sent' END",
                "delivery_error": "''",
                "created_at": "t.created_at + (k - 1) * interval '1 hour'",
            }, "tickets_ticket t CROSS JOIN LATERAL generate_series(1, CASE WHEN t.status <> 'closed' THEN 2 "
               "WHEN mod(t.number, 4) <> 0 THEN 1 ELSE 0 END) k WHERE t.organization_id = %(org)s",
               params)  # fmt: skip
            # Tags on a tenth of the tickets, a second tag on one in 33.
            cursor.execute(
                "INSERT INTO tickets_ticket_tags (ticket_id, tag_id) "
                "SELECT id, (%(tags)s::int[])[1 + mod(number, 30)] FROM tickets_ticket "
                "WHERE organization_id = %(org)s AND mod(number, 10) = 3 "
                "UNION ALL SELECT id, (%(tags)s::int[])[1 + mod(number + 1 + mod(number / 30, 29), 30)] "
                "FROM tickets_ticket WHERE organization_id = %(org)s AND mod(number, 33) = 7",
                params,
            )
    return time.perf_counter() - started


def ticket_counts(slug: str) -> tuple[int, int, int] | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id, (SELECT count(*) FROM tickets_ticket t WHERE t.organization_id = o.id), "
            "(SELECT count(*) FROM tickets_ticket t WHERE t.organization_id = o.id AND t.status <> 'closed'), "
            "(SELECT count(*) FROM tickets_message m WHERE m.organization_id = o.id) "
            "FROM core_organization o WHERE o.slug = %s",
            [slug],
        )
        row = cursor.fetchone()
    return None if row is None else row[1:]


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # What autovacuum does on a live database within minutes: statistics and the visibility map.
        cursor.execute("VACUUM ANALYZE")


def open_tickets():
    """The "all open" view, as the page and the API build it."""
    from tickets.models import Ticket
    from tickets.selectors import TicketFilters, ticket_list

    return ticket_list(filters=TicketFilters(view="open"), user=None, base=Ticket.objects.all())


def cursor_at(organization, position: int, ordering: str) -> str:
    """The cursor a user holds after following `next` until `position` rows are behind them."""
    from core.pagination import _position_of, _segment, encode_cursor
    from core.tenancy import tenant_scope
    from tickets.selectors import TICKET_SORTS

    sort = TICKET_SORTS[ordering]
    with tenant_scope(organization):
        queryset = open_tickets()
        with_value = _segment(queryset, sort, 0, reverse=False)
        before = with_value.count() if sort.nullable else position
        if position <= before:
            row = with_value[position - 1]
        else:
            row = _segment(queryset, sort, 1, reverse=False)[position - before - 1]
        return encode_cursor("n", _position_of(row, sort))


def captured(server: InProcessServer, url: str, headers: dict) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        server.get(url, headers)
    return list(queries.captured_queries)


def explain(server: InProcessServer, url: str, headers: dict) -> None:
    """Every query of one request with its EXPLAIN ANALYZE (the SQL as it ran, parameters filled in)."""
    from django.db import connection

    print(f"\n=== {url}")
    for number, query in enumerate(captured(server, url, headers), 1):
        sql = query["sql"]
        print(f"--- query {number} ({float(query['time']) * 1000:.1f} ms in the request): {sql[:400]}")
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            for (line,) in cursor.fetchall():
                print(f"    {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--quick", action="store_true", help="100,000 tickets instead of 1,000,000")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each page's queries")
    args = parser.parse_args()

    import os

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from core.models import Membership, Organization, Role
    from core.services import api_key_create
    from core.tenancy import tenant_scope

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    scale = 10 if args.quick else 1
    tickets = 1_000_000 // scale
    deep = 100_000 // scale
    slug = "inbox-quick" if args.quick else "inbox"
    database = settings.DATABASES["default"]
    print(f"Database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}")
    counts, noise_counts = ticket_counts(slug), ticket_counts(f"{slug}-noise")
    if args.regenerate or counts is None or counts[0] != tickets or noise_counts is None:
        took = generate(slug, "Inbox Co", tickets, 20_000 // scale, 5_000 // scale, seed=0.1)
        print(f"  generated {slug}: {tickets:,} tickets in {took:.0f} s")
        noise = tickets * 3 // 10
        took = generate(f"{slug}-noise", "Inbox Noise Inc", noise, 5_000 // scale, 1_000 // scale, seed=0.2)
        print(f"  generated {slug}-noise: {noise:,} tickets in {took:.0f} s")
        started = time.perf_counter()
        vacuum_analyze()
        print(f"  VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")
        counts, noise_counts = ticket_counts(slug), ticket_counts(f"{slug}-noise")
    print(
        f"Rows: {counts[0]:,} tickets ({counts[1]:,} open) and {counts[2]:,} messages in '{slug}', plus "
        f"{noise_counts[0]:,} tickets and {noise_counts[2]:,} messages in '{slug}-noise'"
    )
    organization = Organization.objects.get(slug=slug)
    with tenant_scope(organization):
        member = Membership.objects.select_related("user").filter(role=Role.CSM).order_by("id").first()
    _, raw_key = api_key_create(tenant=None, organization=organization, role=Role.VIEWER, name="bench")

    signed_in = Client()
    signed_in.force_login(member.user)
    session_cookie = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    server = InProcessServer()
    page_headers = {"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session_cookie}"}
    api_headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    surfaces = (
        ("page", f"/o/{slug}/tickets/", page_headers, None, TARGET_PAGE_P50_MS),
        ("api", "/api/v1/tickets/", api_headers, TARGET_API_QUERIES, TARGET_API_P50_MS),
    )
    cases = [("open, SLA due", "sla_due_at"), ("open, last update", "-updated_at")]

    rows = []
    for label, ordering in cases:
        deep_cursor = cursor_at(organization, deep, ordering)
        for surface, base, headers, max_queries, max_p50 in surfaces:
            urls = (f"{base}?ordering={ordering}", f"{base}?ordering={ordering}&cursor={deep_cursor}")
            first_queries, first = measure(server, urls[0], args.runs, headers)
            deep_queries, deep_times = measure(server, urls[1], args.runs, headers)
            rows.append((surface, label, max_queries, max_p50, first_queries, first, deep_queries, deep_times))
            if args.explain:
                for url in urls:
                    explain(server, url, headers)

    # "A constant number per HTML page whatever its size": the same page at 4x the rows must cost the same queries.
    with override_settings(LIST_PAGE_SIZE=settings.LIST_PAGE_SIZE * 4):
        big_page_queries = len(captured(server, f"/o/{slug}/tickets/?ordering=sla_due_at", page_headers))
    big_api_queries = len(
        captured(server, f"/api/v1/tickets/?ordering=sla_due_at&page_size={settings.LIST_PAGE_SIZE * 4}", api_headers)
    )
    page_queries = {queries for row in rows if row[0] == "page" for queries in (row[4], row[6])}

    print()
    header = f"{'surface':<6} {'case':<18} {'page':<5} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8}  verdict"
    print(header)
    print("-" * len(header))
    failures = checks = 0
    for surface, label, max_queries, max_p50, first_queries, first, deep_queries, deep_times in rows:
        first_p50 = statistics.median(first)
        for page, queries, timings in (("1", first_queries, first), ("deep", deep_queries, deep_times)):
            p50 = statistics.median(timings)
            problems = []
            if max_queries is not None and queries > max_queries:
                problems.append(f"queries > {max_queries}")
            if max_queries is None and (len(page_queries) > 1 or big_page_queries != queries):
                problems.append("queries vary with the page")
            if p50 >= max_p50:
                problems.append(f"p50 >= {max_p50:.0f} ms")
            if page == "deep" and p50 > TARGET_DEEP_RATIO * first_p50:
                problems.append(f"deep {p50 / first_p50:.2f}x page 1")
            checks += 1
            failures += bool(problems)
            verdict = "PASS" if not problems else "FAIL: " + ", ".join(problems)
            p95 = percentile(timings, 0.95)
            print(f"{surface:<6} {label:<18} {page:<5} {queries:>7} {p50:>8.1f} {p95:>8.1f}  {verdict}")
    print()
    print(
        f"Deep page: {deep:,} rows into the open tickets, at the cursor a user holds after following `next` that far. "
        f"At {settings.LIST_PAGE_SIZE * 4} rows a page: {big_page_queries} queries (HTML), {big_api_queries} (API)."
    )
    checks += 1
    if big_api_queries > TARGET_API_QUERIES:
        failures += 1
        print(f"FAIL: the API page of {settings.LIST_PAGE_SIZE * 4} rows runs {big_api_queries} queries.")
    print(
        f"Targets: API <= {TARGET_API_QUERIES} queries and p50 < {TARGET_API_P50_MS:.0f} ms; HTML the same queries "
        f"whatever the page and p50 < {TARGET_PAGE_P50_MS:.0f} ms; deep p50 <= {TARGET_DEEP_RATIO}x page 1. "
        f"{checks - failures} passed, {failures} failed."
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
