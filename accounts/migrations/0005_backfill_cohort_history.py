"""Accounts created before cohort history existed start their path at the cohort they are in, on their creation day."""

from django.db import migrations


def backfill(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    CohortChange = apps.get_model("accounts", "CohortChange")
    with_history = CohortChange.objects.values("account_id")
    batch = []
    for account in Account.objects.exclude(pk__in=with_history).only("pk", "organization_id", "cohort", "created_at"):
        batch.append(
            CohortChange(
                organization_id=account.organization_id,
                account_id=account.pk,
                from_cohort="",
                to_cohort=account.cohort,
                changed_at=account.created_at,
            )
        )
        if len(batch) >= 2000:
            CohortChange.objects.bulk_create(batch)
            batch = []
    CohortChange.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_contact_owner_outreach_cohort_change")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
