"""Trigram indexes so that searching accounts by part of a name or domain stays fast at 100,000+ rows.

PostgreSQL only (Django's icontains is UPPER(col) LIKE UPPER('%term%'), hence the UPPER expressions);
on SQLite this migration does nothing. pg_trgm ships with PostgreSQL; creating it needs a role that may
create extensions (the database owner on PostgreSQL 13+, as pg_trgm is a trusted extension).
"""

from django.db import migrations

INDEXES = (
    ("account_name_trgm", "accounts_account", 'UPPER("name"::text)'),
    ("account_domain_trgm", "accounts_account", 'UPPER("domain"::text)'),
    ("contact_email_trgm", "accounts_contact", 'UPPER("email"::text)'),
    ("contact_last_name_trgm", "accounts_contact", 'UPPER("last_name"::text)'),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression} gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_cohort_index")]

    operations = [migrations.RunPython(create, drop)]
