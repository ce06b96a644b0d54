"""The churn pages, the customer's learning form, the analytics with hand-computed numbers, and the API."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from churn import services
from churn.models import ChurnCase, ChurnCaseStatus, ChurnStep, StepKind, StepStatus
from churn.selectors import churn_analytics
from core.models import Role
from core.tenancy import Tenant, tenant_scope
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_a_member_records_a_churn_in_the_browser(org, customer, client_for, django_capture_on_commit_callbacks):
    client = client_for(Role.AE)
    page = client.get(f"/o/{org.slug}/churn/")
    assert "No churn cases here" in page.content.decode()
    form = client.get(f"/o/{org.slug}/churn/new/?account={customer.pk}")
    assert form.status_code == 200
    assert 'value="24000.00"' in form.content.decode()
    refused = client.post(
        f"/o/{org.slug}/churn/new/",
        {
            "account": customer.pk,
            "churn_date": "2027-03-31",
            "arr_lost": "24000",
            "primary_reason": "other",
            "cancel_mode": "now",
        },
    )
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "say in a few words what it was" in body or "tick the box to confirm" in body
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/o/{org.slug}/churn/new/",
            {
                "account": customer.pk,
                "churn_date": "2027-03-31",
                "arr_lost": "24000",
                "primary_reason": "price",
                "summary": "Cheaper tool",
                "cancel_mode": "period_end",
            },
        )
    assert response.status_code == 302
    with tenant_scope(org):
        case = ChurnCase.objects.get()
    detail = client.get(response["Location"]).content.decode()
    assert "Churn of Acme Robotics" in detail
    assert 'data-testid="step-status-mark_churned">Done' in detail
    assert "No Stripe subscription is linked" in detail
    # Skip the Stripe step with a reason, from the page.
    client.post(f"/o/{org.slug}/churn/{case.pk}/skip/", {"step": "cancel_stripe", "skip_reason": "Invoiced manually"})
    with tenant_scope(org):
        step = ChurnStep.objects.get(case=case, kind=StepKind.CANCEL_STRIPE)
    assert (step.status, step.skip_reason) == (StepStatus.SKIPPED, "Invoiced manually")
    listed = client.get(f"/o/{org.slug}/churn/").content.decode()
    assert "Acme Robotics" in listed
    assert "4 of 5" in listed  # marked, deals closed (none open), email sent, Stripe skipped; Slack waits
    churned = client.get(f"/o/{org.slug}/accounts/?status=churned").content.decode()
    assert "Acme Robotics" in churned


def test_cancel_now_needs_the_confirmation_on_the_step(
    org, customer, ae_tenant, client_for, django_capture_on_commit_callbacks
):
    with tenant_scope(org), django_capture_on_commit_callbacks(execute=True):
        case = services.churn_case_open(
            tenant=ae_tenant, account=customer, primary_reason="price", churn_date=date(2027, 3, 31), cancel_mode="now"
        )
    client = client_for(Role.CSM)
    response = client.post(f"/o/{org.slug}/churn/{case.pk}/run/", {"step": "cancel_stripe"}, follow=True)
    assert "Cancelling now is immediate" in response.content.decode()
    viewer = client_for(Role.VIEWER)
    assert viewer.post(f"/o/{org.slug}/churn/{case.pk}/run/", {"step": "mark_churned"}).status_code == 403


def test_the_learning_questions_round_trip(org, customer, ae_tenant, client, django_capture_on_commit_callbacks):
    with tenant_scope(org), django_capture_on_commit_callbacks(execute=True):
        case = services.churn_case_open(
            tenant=ae_tenant, account=customer, primary_reason="price", churn_date=date(2027, 3, 31)
        )
    link = next(line for line in mail.outbox[0].body.splitlines() if "/feedback/churn/" in line).split()[-1]
    path = link[link.index("/feedback/") :]
    page = client.get(path)
    assert page.status_code == 200
    assert "What could we have done differently" in page.content.decode()
    assert client.post(path, {"answer_0": " ", "answer_1": ""}).status_code == 400
    response = client.post(path, {"answer_0": "Too expensive for our usage", "answer_2": "Cheaper starter plan"})
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    with tenant_scope(org):
        case.refresh_from_db()
    assert case.learning_answers[0] == {
        "question": "What was the main reason you decided not to renew?",
        "answer": "Too expensive for our usage",
    }
    assert case.learning_answers[2]["answer"] == "Cheaper starter plan"
    assert case.learning_answered_at is not None
    assert client.get("/feedback/churn/not-a-real-token/").status_code == 404
    assert client.get(path[:-5] + "xxxx/").status_code == 404


def test_churn_analytics_hand_computed(org, ae_tenant):
    """Period Jan-Mar 2027. Before it: premium 100,000 ARR in 4 accounts (2 churn in the period: 20,000 + 10,000,
    one after it: 5,000), enterprise 200,000 in 1 account that churns in February (all of it).
    Premium at start: 65,000 still active + 35,000 of cases on or after 1 Jan = 100,000; lost in period 30,000:
    GRR 70.0%. Enterprise: 0 active + 200,000 = 200,000, lost 200,000: GRR 0.0%. Starter: the 1,000 account whose
    case was dismissed (a December churn is before the period). Total: 301,000, lost 230,000, GRR 71/301 = 23.6%;
    logos 3 of 6 customers at start (50.0%)."""
    with time_machine.travel(date(2026, 11, 1)):
        premium = [
            AccountFactory(organization=org, cohort="premium", arr=Decimal(arr))
            for arr in ("20000", "10000", "5000", "65000")
        ]
        enterprise = AccountFactory(organization=org, cohort="enterprise", arr=Decimal("200000"))
        early = AccountFactory(organization=org, cohort="starter", arr=Decimal("6000"))
        noise = AccountFactory(organization=org, cohort="starter", arr=Decimal("1000"))
    with tenant_scope(org):
        for account, day, reason in (
            (premium[0], date(2027, 1, 15), "price"),
            (premium[1], date(2027, 3, 2), "missing_feature"),
            (premium[2], date(2027, 5, 1), "price"),
            (enterprise, date(2027, 2, 28), "acquired"),
            (early, date(2026, 12, 1), "price"),
        ):
            services.churn_case_open(tenant=ae_tenant, account=account, primary_reason=reason, churn_date=day)
        dismissed = services.churn_case_open(
            tenant=ae_tenant, account=noise, primary_reason="price", churn_date=date(2027, 2, 1)
        )
        services.churn_case_dismiss(tenant=ae_tenant, case=dismissed, reason="Plan change, not a churn")
        # The starter account that churned in December is churned now, as the step would have marked it.
        from accounts.services import account_update

        for account in (*premium[:3], enterprise, early):
            account_update(tenant=ae_tenant, account=account, status="churned")
        labels = services.churn_settings_get(organization=org).reason_labels
        report = churn_analytics(start=date(2027, 1, 1), end=date(2027, 3, 31), reason_labels=labels)
    assert [(row.month, row.logos, row.arr_lost) for row in report.months] == [
        (date(2027, 1, 1), 1, Decimal("20000")),
        (date(2027, 2, 1), 1, Decimal("200000")),
        (date(2027, 3, 1), 1, Decimal("10000")),
    ]
    assert report.arr_lost == Decimal("230000")
    assert report.logos == 3
    by_cohort = {row.cohort: row for row in report.cohorts}
    assert by_cohort["premium"].arr_at_start == Decimal("100000")
    assert by_cohort["premium"].grr == Decimal("70.0")
    assert by_cohort["enterprise"].grr == Decimal("0.0")
    assert by_cohort["starter"].arr_at_start == Decimal("1000")  # the dismissed one is still a customer
    assert by_cohort["starter"].grr == Decimal("100.0")
    assert report.total.arr_at_start == Decimal("301000")
    assert report.total.grr == Decimal("23.6")
    assert report.accounts_at_start == 6
    assert report.logo_churn_percent == Decimal("50.0")
    assert [(r.code, r.logos, r.arr_lost) for r in report.reasons] == [
        ("acquired", 1, Decimal("200000")),
        ("price", 1, Decimal("20000")),
        ("missing_feature", 1, Decimal("10000")),
    ]


def test_the_report_page_shows_the_numbers(org, ae_tenant, client_for):
    account = AccountFactory(organization=org, cohort="premium", arr=Decimal("12000"))
    with tenant_scope(org):
        services.churn_case_open(
            tenant=ae_tenant, account=account, primary_reason="price", churn_date=date(2027, 2, 10)
        )
    page = client_for(Role.VIEWER).get(f"/o/{org.slug}/reports/churn/", {"start": "2027-01", "end": "2027-03"})
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="logos">1<' in body
    assert "churn-chart-data" in body
    bad = client_for(Role.VIEWER).get(f"/o/{org.slug}/reports/churn/", {"start": "2027-05", "end": "2027-01"})
    assert "Showing the last 12 months" in bad.content.decode()


def test_churn_cases_api(org, other_org, customer, api_for, django_capture_on_commit_callbacks):
    api = api_for(Role.CSM)
    refused = api.post("/api/v1/churn-cases/", {"account": customer.pk, "primary_reason": "weather"}, format="json")
    assert refused.status_code == 400
    assert "primary_reason" in refused.json()
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/v1/churn-cases/",
            {
                "account": customer.pk,
                "primary_reason": "budget_cut",
                "churn_date": "2027-04-30",
                "summary": "Budget frozen",
            },
            format="json",
        )
    assert created.status_code == 201, created.content
    case = created.json()
    assert case["status"] == "open"
    assert case["arr_lost"] == "24000.00"
    assert [step["kind"] for step in case["steps"]] == list(StepKind.values)
    case_id = case["id"]
    listed = api.get("/api/v1/churn-cases/").json()
    assert [row["id"] for row in listed["results"]] == [case_id]
    patched = api.patch(f"/api/v1/churn-cases/{case_id}/", {"summary": "Budget frozen for 2027"}, format="json")
    assert patched.json()["summary"] == "Budget frozen for 2027"
    bad_patch = api.patch(f"/api/v1/churn-cases/{case_id}/", {"secondary_reason": "budget_cut"}, format="json")
    assert bad_patch.status_code == 400
    assert "secondary_reason" in bad_patch.json()
    skipped = api.post(f"/api/v1/churn-cases/{case_id}/skip-step/", {"step": "cancel_stripe"}, format="json")
    assert skipped.status_code == 400
    assert "skip_reason" in skipped.json()
    skipped = api.post(
        f"/api/v1/churn-cases/{case_id}/skip-step/",
        {"step": "cancel_stripe", "skip_reason": "No Stripe"},
        format="json",
    )
    steps = {s["kind"]: s for s in skipped.json()["steps"]}
    assert steps["cancel_stripe"]["status"] == "skipped"
    again = api.post(f"/api/v1/churn-cases/{case_id}/run-step/", {"step": "mark_churned"}, format="json")
    assert {s["kind"]: s for s in again.json()["steps"]}["mark_churned"]["attempts"] == 1
    deleted = api.delete(f"/api/v1/churn-cases/{case_id}/")
    assert deleted.status_code == 400  # steps ran
    outsider = api_for(Role.ADMIN, organization=other_org)
    assert outsider.get(f"/api/v1/churn-cases/{case_id}/").status_code == 404
    assert outsider.patch(f"/api/v1/churn-cases/{case_id}/", {"summary": "x"}, format="json").status_code == 404
    assert (
        outsider.post(f"/api/v1/churn-cases/{case_id}/run-step/", {"step": "announce_slack"}, format="json").status_code
        == 404
    )
    assert (
        outsider.post(
            "/api/v1/churn-cases/",
            {"account": customer.pk, "primary_reason": "price", "churn_date": "2027-01-01"},
            format="json",
        ).status_code
        == 400
    )
    assert api_for(Role.SUPPORT).post("/api/v1/churn-cases/", {}, format="json").status_code == 403


def test_a_case_none_of_whose_steps_ran_can_be_deleted(org, api_for):
    account = AccountFactory(organization=org)
    ContactFactory(account=account)
    with tenant_scope(org):
        case = services.churn_case_open(
            tenant=Tenant(organization=org, role=Role.ADMIN),
            account=account,
            primary_reason="price",
            churn_date=date(2027, 1, 1),
        )
    assert case.status == ChurnCaseStatus.OPEN
    assert api_for(Role.CSM).delete(f"/api/v1/churn-cases/{case.pk}/").status_code == 204
    with tenant_scope(org):
        assert not ChurnCase.objects.exists()


def test_platform_operators_see_every_case_and_campaign_in_the_django_admin(client, org, other_org):
    from django.contrib.auth import get_user_model

    from migrations_notify.models import MigrationCampaign

    cases = []
    for organization in (org, other_org):
        with tenant_scope(organization):
            cases.append(
                services.churn_case_open(
                    tenant=Tenant(organization=organization, role=Role.ADMIN),
                    account=AccountFactory(organization=organization, name=f"Gone {organization.slug}"),
                    primary_reason="price",
                    churn_date=date(2027, 1, 1),
                )
            )
            MigrationCampaign.objects.create(
                organization=organization,
                name=f"Move {organization.slug}",
                target_server="k8s-2",
                deadline=date(2027, 3, 1),
            )
    client.force_login(get_user_model().objects.create_superuser("root", "root@ops.example", "pw-for-tests-1"))
    listed = client.get("/admin/churn/churncase/").content.decode()
    assert "Gone northwind" in listed
    assert "Gone helios" in listed
    page = client.get(f"/admin/churn/churncase/{cases[1].pk}/change/").content.decode()
    assert "Cancel the subscription in Stripe" in page  # its steps, inline
    campaigns = client.get("/admin/migrations_notify/migrationcampaign/").content.decode()
    assert "Move northwind" in campaigns
    assert "Move helios" in campaigns
