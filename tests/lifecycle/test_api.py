"""/api/v1/deals/ and the lifecycle rules over /api/v1/contacts/: a refused move is a 400 naming the field."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import LifecycleStage
from core.models import Role
from lifecycle.models import Deal, DealStage, OnboardingPlan
from tests.factories import AccountFactory, ContactFactory, DealFactory, MembershipFactory


@pytest.fixture
def ae_api(api_for):
    return api_for(Role.AE)


def test_create_a_deal_with_suggested_name_and_weighted_amount(org, ae_api):
    account = AccountFactory(organization=org, name="Bluefin Logistics", cohort="premium", currency="EUR")
    response = ae_api.post(
        "/api/v1/deals/",
        {"account": account.pk, "amount": "24000", "type": "expansion", "expected_close_date": "2027-05-20"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"].startswith("BluefinLogistics_")
    assert body["name"].endswith("_Expansion_Q22027")
    assert body["currency"] == "EUR"
    assert body["stage"] == "opportunity"
    assert body["probability"] == 10
    assert body["weighted_amount"] == "2400.00"


def test_stage_rules_answer_400_naming_the_field(org, ae_api):
    deal = DealFactory(account=AccountFactory(organization=org), stage=DealStage.OPPORTUNITY)
    skip = ae_api.patch(f"/api/v1/deals/{deal.pk}/", {"stage": "contract_sent"}, format="json")
    assert skip.status_code == 400
    assert "POC Started" in skip.json()["stage"][0]
    lost = ae_api.patch(f"/api/v1/deals/{deal.pk}/", {"stage": "closed_lost"}, format="json")
    assert lost.status_code == 400
    assert "lost_reason" in lost.json()
    unknown = ae_api.patch(f"/api/v1/deals/{deal.pk}/", {"stage": "signed"}, format="json")
    assert unknown.status_code == 400
    assert "stage" in unknown.json()
    assert Deal.objects.with_scopes_disabled().get(pk=deal.pk).stage == DealStage.OPPORTUNITY
    moved = ae_api.patch(f"/api/v1/deals/{deal.pk}/", {"stage": "poc_started", "amount": "5000"}, format="json")
    assert moved.status_code == 200
    assert moved.json()["probability"] == 30
    assert moved.json()["weighted_amount"] == "1500.00"


def test_a_lost_deal_with_its_reason(org, ae_api):
    deal = DealFactory(account=AccountFactory(organization=org))
    response = ae_api.patch(
        f"/api/v1/deals/{deal.pk}/", {"stage": "closed_lost", "lost_reason": "Price"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["lost_reason"] == "Price"
    assert response.json()["weighted_amount"] == "0.00"


def test_account_of_another_organization_is_a_400_on_account(org, other_org, ae_api):
    foreign = AccountFactory(organization=other_org)
    response = ae_api.post("/api/v1/deals/", {"account": foreign.pk, "amount": "100"}, format="json")
    assert response.status_code == 400
    assert "account" in response.json()


def test_committing_over_the_api_opens_the_onboarding_plan_and_cannot_be_undone(org, ae_api):
    csm = MembershipFactory(organization=org, role=Role.CSM).user
    deal = DealFactory(account=AccountFactory(organization=org, csm_owner=csm))
    response = ae_api.patch(f"/api/v1/deals/{deal.pk}/", {"committed": True}, format="json")
    assert response.status_code == 200
    assert response.json()["committed_at"]
    assert OnboardingPlan.objects.with_scopes_disabled().filter(deal_id=deal.pk, csm=csm).exists()
    undo = ae_api.patch(f"/api/v1/deals/{deal.pk}/", {"committed": False}, format="json")
    assert undo.status_code == 400
    assert "committed" in undo.json()


def test_deal_filters_and_bad_quarter(org, ae_api):
    account = AccountFactory(organization=org)
    DealFactory(account=account, name="Q1 deal", expected_close_date="2027-02-01")
    DealFactory(account=account, name="Q3 deal", expected_close_date="2027-08-01", type="renewal")
    names = [d["name"] for d in ae_api.get("/api/v1/deals/", {"close_quarter": "2027-Q1"}).json()["results"]]
    assert names == ["Q1 deal"]
    names = [d["name"] for d in ae_api.get("/api/v1/deals/", {"type": "renewal"}).json()["results"]]
    assert names == ["Q3 deal"]
    bad = ae_api.get("/api/v1/deals/", {"close_quarter": "Q1-2027"})
    assert bad.status_code == 400
    assert "close_quarter" in bad.json()


def test_deal_list_runs_constant_queries(org, api_for):
    api = api_for(Role.VIEWER)
    owner = MembershipFactory(organization=org).user

    def count_queries() -> int:
        api.get("/api/v1/deals/")
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/deals/").status_code == 200
        return len(queries)

    DealFactory.create_batch(3, account=AccountFactory(organization=org), owner=owner)
    few = count_queries()
    for _ in range(30):
        DealFactory(account=AccountFactory(organization=org), owner=owner, amount=Decimal("10"))
    assert count_queries() == few


# --- Contacts' lifecycle_stage over the API ---------------------------------------------------------------------


def test_skipped_stage_answers_400_naming_the_next_stage(org, ae_api):
    contact = ContactFactory(account=AccountFactory(organization=org), lifecycle_stage=LifecycleStage.SUBSCRIBER)
    response = ae_api.patch(f"/api/v1/contacts/{contact.pk}/", {"lifecycle_stage": "opportunity"}, format="json")
    assert response.status_code == 400
    assert "next stage is Lead" in response.json()["lifecycle_stage"][0]


def test_missing_qualification_answers_400_then_one_patch_qualifies_and_moves(org, ae_api):
    contact = ContactFactory(
        account=AccountFactory(organization=org), lifecycle_stage=LifecycleStage.MARKETING_QUALIFIED_LEAD
    )
    refused = ae_api.patch(
        f"/api/v1/contacts/{contact.pk}/", {"lifecycle_stage": "salesqualifiedlead", "title": "CTO"}, format="json"
    )
    assert refused.status_code == 400
    assert "qualifying questions" in refused.json()["lifecycle_stage"][0]
    assert ae_api.get(f"/api/v1/contacts/{contact.pk}/").json()["title"] == ""  # nothing half-applied
    answers = {
        "adoption": "Dashboards for OEE",
        "scale": "20 instances, 4 developers",
        "production_use": "Yes, two plants",
        "next_year_plans": "Replace the SCADA historian",
    }
    moved = ae_api.patch(
        f"/api/v1/contacts/{contact.pk}/",
        {"lifecycle_stage": "salesqualifiedlead", "qualification": answers, "stage_change_reason": "Call on Monday"},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["lifecycle_stage"] == "salesqualifiedlead"
    assert moved.json()["qualification"]["production_use"] == "Yes, two plants"


def test_backward_move_over_the_api_needs_an_admin_and_a_reason(org, api_for):
    contact = ContactFactory(account=AccountFactory(organization=org), lifecycle_stage=LifecycleStage.OPPORTUNITY)
    url = f"/api/v1/contacts/{contact.pk}/"
    assert api_for(Role.CSM).patch(url, {"lifecycle_stage": "lead"}, format="json").status_code == 400
    admin = api_for(Role.ADMIN)
    no_reason = admin.patch(url, {"lifecycle_stage": "lead"}, format="json")
    assert no_reason.status_code == 400
    assert "stage_change_reason" in no_reason.json()
    fixed = admin.patch(url, {"lifecycle_stage": "lead", "stage_change_reason": "Wrong import"}, format="json")
    assert fixed.status_code == 200
    assert fixed.json()["lifecycle_stage"] == "lead"


def test_openapi_describes_deals(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    deal = schema["components"]["schemas"]["Deal"]["properties"]
    for field in ("name", "account", "owner", "amount", "currency", "type", "expected_close_date", "stage",
                  "lost_reason", "committed", "probability", "weighted_amount"):  # fmt: skip
        assert field in deal
    assert deal["probability"]["readOnly"] is True
    assert deal["weighted_amount"]["readOnly"] is True
    assert "/api/v1/deals/" in schema["paths"]
