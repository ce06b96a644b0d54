"""Contacts created before stage history existed start their history at the stage they are at, on their creation day."""

from django.db import migrations


def backfill(apps, schema_editor):
    Contact = apps.get_model("accounts", "Contact")
    LifecycleStageChange = apps.get_model("lifecycle", "LifecycleStageChange")
    with_history = LifecycleStageChange.objects.values("contact_id")
    batch = []
    contacts = Contact.objects.exclude(pk__in=with_history).only(
        "pk", "organization_id", "account_id", "lifecycle_stage", "created_at"
    )
    for contact in contacts:
        batch.append(
            LifecycleStageChange(
                organization_id=contact.organization_id,
                contact_id=contact.pk,
                account_id=contact.account_id,
                from_stage="",
                to_stage=contact.lifecycle_stage,
                changed_by_label="System",
                changed_at=contact.created_at,
            )
        )
        if len(batch) >= 2000:
            LifecycleStageChange.objects.bulk_create(batch)
            batch = []
    LifecycleStageChange.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("lifecycle", "0001_initial")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
