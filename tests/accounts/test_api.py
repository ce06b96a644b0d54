"""The REST API as an integration sees it: shapes, filters, errors, and who may do what."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, Contact
from core.models import AuditEntry, Role
from core.services import api_key_revoke
from core.tenancy import Tenant, tenant_scope
from tests.factories import AccountFactory, ContactFactory, MembershipFactory


def test_list_shape_and_keyset_paging(org, api_for):
    for index in range(30):
        AccountFactory(organization=org, name=f"Account {index:02d}")
    api = api_for(Role.VIEWER)
    first = api.get("/api/v1/accounts/", {"page_size": 20}).json()
    assert set(first) == {"next", "previous", "results"}
    assert [row["name"] for row in first["results"]][:2] == ["Account 00", "Account 01"]
    second = api.get(first["next"]).json()
    assert [row["name"] for row in second["results"]] == [f"Account {i:02d}" for i in range(20, 30)]
    assert second["next"] is None
    back = api.get(second["previous"]).json()
    assert back["results"] == first["results"]


def test_create_retrieve_patch_delete_round_trip(org, api_for):
    api = api_for(Role.ADMIN)
    created = api.post(
        "/api/v1/accounts/",
        {"name": "Bluefin Logistics", "domain": "https://www.Bluefin.example/", "cohort": "premium", "arr": "24000"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["domain"] == "bluefin.example"
    assert body["mrr"] == "2000.00"
    assert body["codename"]
    account_url = f"/api/v1/accounts/{body['id']}/"
    assert api.get(account_url).json()["name"] == "Bluefin Logistics"
    patched = api.patch(account_url, {"arr": "36000.50", "status": "churned"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["arr"] == "36000.50"
    with tenant_scope(org):
        entry = AuditEntry.objects.filter(action="account.updated").get()
        assert entry.changes["arr"] == ["24000.00", "36000.50"]
        assert entry.actor_api_key is not None
    assert api.delete(account_url).status_code == 204
    assert api.get(account_url).status_code == 404


def test_filters(org, api_for):
    owner = MembershipFactory(organization=org, role=Role.CSM).user
    AccountFactory(organization=org, name="Premium One", cohort="premium", csm_owner=owner)
    AccountFactory(organization=org, name="Premium Churned", cohort="premium", status="churned")
    starter = AccountFactory(organization=org, name="Starter Co", cohort="starter", domain="starter.example")
    ContactFactory(account=starter, email="ann@starter.example")
    ContactFactory(account=AccountFactory(organization=org), email="bob@elsewhere.example", lifecycle_stage="lead")
    api = api_for(Role.VIEWER)

    def names(**params):
        return sorted(row["name"] for row in api.get("/api/v1/accounts/", params).json()["results"])

    assert names(cohort="premium") == ["Premium Churned", "Premium One"]
    assert names(cohort="premium", status="active") == ["Premium One"]
    assert names(owner=owner.pk) == ["Premium One"]
    assert names(search="starter.ex") == ["Starter Co"]
    contacts = api.get("/api/v1/contacts/", {"account": starter.pk}).json()["results"]
    assert [c["email"] for c in contacts] == ["ann@starter.example"]
    leads = api.get("/api/v1/contacts/", {"lifecycle_stage": "lead"}).json()["results"]
    assert [c["email"] for c in leads] == ["bob@elsewhere.example"]
    by_arr = api.get("/api/v1/accounts/", {"ordering": "-arr"})
    assert by_arr.status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "cohort": "gold"}, "cohort"),
        ({"name": "X", "arr": "-1"}, "arr"),
        ({"cohort": "trial"}, "name"),
        ({"name": "X", "qbr_nominated": True}, "qbr_nomination_reason"),
    ],
)
def test_bad_account_input_is_400_with_field_errors_and_saves_nothing(org, api_for, payload, field):
    response = api_for(Role.CSM).post("/api/v1/accounts/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    with tenant_scope(org):
        assert not Account.objects.exists()


def test_bad_contact_input(org, other_org, api_for):
    api = api_for(Role.CSM)
    malformed = api.post("/api/v1/contacts/", {"email": "not-an-email"}, format="json")
    assert malformed.status_code == 400
    assert "email" in malformed.json()
    foreign = AccountFactory(organization=other_org)
    pointed = api.post("/api/v1/contacts/", {"email": "a@b.example", "account": foreign.pk}, format="json")
    assert pointed.status_code == 400
    assert "account" in pointed.json()
    ContactFactory(account=AccountFactory(organization=org), email="taken@example.com")
    duplicate = api.post("/api/v1/contacts/", {"email": "Taken@Example.com"}, format="json")
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.json()["email"][0]
    with tenant_scope(org):
        assert Contact.objects.count() == 1


def test_bad_ordering_cursor_and_page_size_are_400(org, api_for):
    api = api_for(Role.VIEWER)
    assert api.get("/api/v1/accounts/", {"ordering": "password"}).json() == {
        "ordering": [
            "Sort by one of: name, -name, arr, -arr, renewal_date, -renewal_date, health_score, -health_score, "
            "health_trend, -health_trend."
        ]
    }
    assert api.get("/api/v1/accounts/", {"cursor": "garbage!"}).status_code == 400
    assert api.get("/api/v1/accounts/", {"page_size": "0"}).status_code == 400
    assert api.get("/api/v1/accounts/", {"cohort": "gold"}).status_code == 400


def test_authentication_errors(org, api_for, client):
    assert client.get("/api/v1/accounts/").status_code == 401
    bad = client.get("/api/v1/accounts/", HTTP_AUTHORIZATION="Bearer csp_nope_nope")
    assert bad.status_code == 401
    api = api_for(Role.ADMIN)
    with tenant_scope(org):
        from core.models import ApiKey

        key = ApiKey.objects.get(name="admin key")
        admin = MembershipFactory(organization=org, role=Role.ADMIN).user
        api_key_revoke(tenant=Tenant(organization=org, role=Role.ADMIN, user=admin), api_key=key)
    assert api.get("/api/v1/accounts/").status_code == 401


def test_session_users_use_their_active_organization(org, other_org, client_for):
    client = client_for(Role.CSM)
    MembershipFactory(organization=other_org, user=client.user, role=Role.VIEWER)
    AccountFactory(organization=org, name="Mine")
    AccountFactory(organization=other_org, name="Theirs")
    assert client.get("/api/v1/accounts/").status_code == 403  # two organizations, none chosen yet
    client.get(f"/o/{org.slug}/")
    assert [a["name"] for a in client.get("/api/v1/accounts/").json()["results"]] == ["Mine"]
    chosen = client.get("/api/v1/accounts/", HTTP_X_ORGANIZATION=other_org.slug).json()
    assert [a["name"] for a in chosen["results"]] == ["Theirs"]


@pytest.mark.parametrize("path", ["/api/v1/accounts/", "/api/v1/contacts/"])
def test_list_endpoints_run_constant_queries(org, api_for, path):
    api = api_for(Role.VIEWER)
    owner = MembershipFactory(organization=org).user

    def count_queries() -> int:
        api.get(path)  # warm-up: the key's last-use stamp is written at most once a minute
        with CaptureQueriesContext(connection) as queries:
            assert api.get(path).status_code == 200
        return len(queries)

    ContactFactory.create_batch(5, account=AccountFactory(organization=org, csm_owner=owner))
    few = count_queries()
    for _ in range(40):
        ContactFactory(account=AccountFactory(organization=org, csm_owner=owner, ae_owner=owner))
    assert count_queries() == few
    assert few <= 5


def test_openapi_schema_and_docs(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/accounts/", "/api/v1/accounts/{id}/", "/api/v1/contacts/", "/api/v1/contacts/{id}/"} <= set(
        schema["paths"]
    )
    assert schema["components"]["securitySchemes"]["BearerKey"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower()
    assert "unpkg" not in docs


def test_money_is_decimal(org, api_for):
    api = api_for(Role.CSM)
    body = api.post("/api/v1/accounts/", {"name": "Cents", "arr": "1000.10"}, format="json").json()
    with tenant_scope(org):
        assert Account.objects.get(pk=body["id"]).arr == Decimal("1000.10")
