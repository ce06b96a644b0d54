"""The demo organizations show the lifecycle features with lived-in data, even when seeded small."""

from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account, CohortChange, Contact
from core.models import Notification, Organization
from core.tenancy import tenant_scope
from lifecycle.models import Deal, LifecycleStageChange, OnboardingPlan, Task
from lifecycle.services import unresponsive_suggested


def test_seed_demo_shows_the_lifecycle_features(db):
    call_command("seed_demo", "--accounts", "20")
    csm = get_user_model().objects.get(email="csm@northwind.example")
    today = timezone.localdate()
    with tenant_scope(Organization.objects.get(slug="northwind")):
        assert len(set(Deal.objects.values_list("stage", flat=True))) >= 4
        assert OnboardingPlan.objects.filter(tasks__isnull=False).exists()
        open_tasks = Task.objects.filter(assignee=csm, status=Task.Status.OPEN)
        assert open_tasks.exists()
        assert open_tasks.filter(due_date__lt=today).exists()
        assert not Account.objects.filter(cohort_changes__isnull=True).exists()
        assert not Contact.objects.filter(stage_changes__isnull=True).exists()
        assert any(unresponsive_suggested(contact=contact) for contact in Contact.objects.all())
        # Histories end where the records are now, and nothing is dated in the future.
        now = timezone.now()
        for account in Account.objects.all():
            assert CohortChange.objects.filter(account=account).order_by("changed_at", "id").last().to_cohort == (
                account.cohort
            )
        assert not LifecycleStageChange.objects.filter(changed_at__gt=now).exists()
        # Demo notifications stay in-app: they are marked emailed so no worker mails the demo addresses.
        assert Notification.objects.exists()
        assert not Notification.objects.filter(emailed_at__isnull=True).exists()
    assert mail.outbox == []  # not one, whichever seed (QBRs, churn, revenue…) notified
