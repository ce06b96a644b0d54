"""Full-text search over tickets: GIN indexes on the words of subjects and of every message.

PostgreSQL only (tickets.selectors.ticket_search writes the same expressions, so the planner uses these); on SQLite
the search falls back to substring matching and this migration does nothing. The 'simple' configuration keeps
words as they are: customers write in many languages, and product names must not be stemmed.
"""

from django.db import migrations

INDEXES = (
    ("ticket_subject_fts", "tickets_ticket", "to_tsvector('simple'::regconfig, subject)"),
    ("message_body_fts", "tickets_message", "to_tsvector('simple'::regconfig, body_text)"),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_job_applications")]

    operations = [migrations.RunPython(create, drop)]
